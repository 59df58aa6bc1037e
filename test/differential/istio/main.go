// istio-oracle answers, for pods read from stdin, what a real Istio installation decides:
// whether one of its mutating webhooks is reached (the namespace and object selectors of
// the MutatingWebhookConfiguration that Istio's installer renders), whether the injector
// refuses the pod or injects it, whether the API server would then refuse the injected pod's
// proxy resources, and which iptables settings the pod ends up with (istio-init's
// istio-iptables arguments, or, with istio-cni, the redirect the CNI plugin computes).
//
// Everything Istio decides is decided by Istio's own code from the pinned istio.io/istio
// module: the installer (operator/pkg/render) renders the charts embedded in the module, the
// injector is pkg/kube/inject's webhook served in-process, and the CNI redirect is
// cni/pkg/plugin's doAddRun. Only the API server's resource rule (requests and limits of
// the injected proxy container) is restated here, with apimachinery's quantities.
//
// Input: one JSON case per line, {"id","install":{"revision","cni"},"namespace":{"name","labels"},"pod":{...}}.
// Output: one JSON answer per line, in order.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	_ "unsafe" // go:linkname

	"github.com/containernetworking/cni/pkg/skel"
	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"istio.io/istio/cni/pkg/plugin"
	"istio.io/istio/operator/pkg/render"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/config/mesh/meshwatcher"
	"istio.io/istio/pkg/kube/inject"
	"istio.io/istio/pkg/kube/multicluster"
	"istio.io/istio/pkg/log"
)

//go:linkname doAddRun istio.io/istio/cni/pkg/plugin.doAddRun
func doAddRun(args *skel.CmdArgs, conf *plugin.Config, kClient kubernetes.Interface, rulesMgr plugin.InterceptRuleMgr) error

type install struct {
	Revision string `json:"revision"`
	CNI      bool   `json:"cni"`
}

type testCase struct {
	ID        string  `json:"id"`
	Install   install `json:"install"`
	Namespace struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"namespace"`
	Pod json.RawMessage `json:"pod"`
}

type iptables struct {
	// "init": istio-init's arguments; "cni": the CNI plugin's redirect; "none": no capture.
	Via              string            `json:"via"`
	Args             map[string]string `json:"args,omitempty"`
	ExcludeInbound   string            `json:"excludeInbound"`
	ExcludeOutbound  string            `json:"excludeOutbound"`
	IncludeOutbound  string            `json:"includeOutbound"`
	InterceptionMode string            `json:"interceptionMode"`
	// The CNI plugin's error: the pod's sandbox fails.
	Error string `json:"error,omitempty"`
}

type answer struct {
	ID         string    `json:"id"`
	Error      string    `json:"error,omitempty"`
	Reached    bool      `json:"reached"`
	Webhooks   []string  `json:"webhooks,omitempty"`
	Refusal    string    `json:"refusal,omitempty"`
	Injected   bool      `json:"injected"`
	APIRefusal string    `json:"apiRefusal,omitempty"`
	Iptables   *iptables `json:"iptables,omitempty"`
}

type staticWatcher struct {
	cfg    *inject.Config
	values string
}

func (w staticWatcher) SetHandler(func(*inject.Config, string) error) {}
func (w staticWatcher) Run(<-chan struct{})                           {}
func (w staticWatcher) Get() (*inject.Config, string, error)          { return w.cfg, w.values, nil }

type istioInstall struct {
	webhooks   []admissionregv1.MutatingWebhook
	mux        *http.ServeMux
	cniExclude []string
}

var installs = map[install]*istioInstall{}

// setup renders Istio's default profile with the installer's own code and serves its
// injector in-process.
func setup(in install) (*istioInstall, error) {
	if got, ok := installs[in]; ok {
		return got, nil
	}
	flags := []string{"profile=default"}
	if in.Revision != "" {
		flags = append(flags, "revision="+in.Revision)
	}
	if in.CNI {
		flags = append(flags, "components.cni.enabled=true", "values.pilot.cni.enabled=true")
	}
	sets, _, err := render.GenerateManifest(nil, flags, false, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("render %v: %v", flags, err)
	}
	out := &istioInstall{mux: http.NewServeMux()}
	var cfg *inject.Config
	var values string
	meshConfig := mesh.DefaultMeshConfig()
	for _, set := range sets {
		for _, m := range set.Manifests {
			kind, name := m.GetKind(), m.GetName()
			switch {
			case kind == "ConfigMap" && strings.HasPrefix(name, "istio-sidecar-injector"):
				data, _ := m.Object["data"].(map[string]any)
				raw, _ := data["config"].(string)
				values, _ = data["values"].(string)
				c, err := inject.UnmarshalConfig([]byte(raw))
				if err != nil {
					return nil, fmt.Errorf("injection config: %v", err)
				}
				cfg = &c
			case kind == "ConfigMap" && (name == "istio" || name == "istio-"+in.Revision):
				data, _ := m.Object["data"].(map[string]any)
				meshData, _ := data["mesh"].(string)
				mc, err := mesh.ApplyMeshConfig(meshData, mesh.DefaultMeshConfig())
				if err != nil {
					return nil, fmt.Errorf("mesh config: %v", err)
				}
				meshConfig = mc
			case kind == "MutatingWebhookConfiguration" && strings.HasPrefix(name, "istio-sidecar-injector"):
				var mwc admissionregv1.MutatingWebhookConfiguration
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m.Object, &mwc); err != nil {
					return nil, fmt.Errorf("webhook configuration: %v", err)
				}
				out.webhooks = append(out.webhooks, mwc.Webhooks...)
			case kind == "ConfigMap" && name == "istio-cni-config":
				data, _ := m.Object["data"].(map[string]any)
				if ex, ok := data["EXCLUDE_NAMESPACES"].(string); ok && ex != "" {
					out.cniExclude = strings.Split(ex, ",")
				}
			}
		}
	}
	if cfg == nil || len(out.webhooks) == 0 {
		return nil, fmt.Errorf("the rendered manifests for %v hold no injector configuration or webhooks", flags)
	}
	env := &model.Environment{Watcher: meshwatcher.NewTestWatcher(meshConfig), ConfigStore: model.NewFakeStore()}
	env.SetPushContext(&model.PushContext{})
	if _, err := inject.NewWebhook(inject.WebhookParameters{
		Watcher:      staticWatcher{cfg: cfg, values: values},
		Env:          env,
		Mux:          out.mux,
		Revision:     in.Revision,
		MultiCluster: multicluster.NewFakeController(),
	}); err != nil {
		return nil, fmt.Errorf("injector: %v", err)
	}
	installs[in] = out
	return out, nil
}

func matches(sel *metav1.LabelSelector, set map[string]string) (bool, error) {
	if sel == nil {
		return true, nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, err
	}
	return s.Matches(labels.Set(set)), nil
}

func decide(tc testCase) answer {
	ans := answer{ID: tc.ID}
	fail := func(err error) answer { ans.Error = err.Error(); return ans }
	ist, err := setup(tc.Install)
	if err != nil {
		return fail(err)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(tc.Pod, &pod); err != nil {
		return fail(fmt.Errorf("pod: %v", err))
	}
	pod.Namespace = tc.Namespace.Name
	// The API server labels every namespace with its name.
	nsLabels := map[string]string{"kubernetes.io/metadata.name": tc.Namespace.Name}
	for k, v := range tc.Namespace.Labels {
		nsLabels[k] = v
	}
	for _, wh := range ist.webhooks {
		nsOK, err := matches(wh.NamespaceSelector, nsLabels)
		if err != nil {
			return fail(err)
		}
		objOK, err := matches(wh.ObjectSelector, pod.Labels)
		if err != nil {
			return fail(err)
		}
		if nsOK && objOK {
			ans.Webhooks = append(ans.Webhooks, wh.Name)
		}
	}
	ans.Reached = len(ans.Webhooks) > 0
	final := pod
	if ans.Reached {
		raw, _ := json.Marshal(pod)
		review := admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
			Request: &admissionv1.AdmissionRequest{
				UID:       "case",
				Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
				Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
				Namespace: tc.Namespace.Name,
				Operation: admissionv1.Create,
				Object:    runtime.RawExtension{Raw: raw},
			},
		}
		body, _ := json.Marshal(review)
		req := httptest.NewRequest(http.MethodPost, "/inject", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		ist.mux.ServeHTTP(rec, req)
		var resp admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Response == nil {
			return fail(fmt.Errorf("injector answered %d %q", rec.Code, rec.Body.String()))
		}
		if !resp.Response.Allowed {
			ans.Refusal = resp.Response.Result.Message
			return ans
		}
		if len(resp.Response.Patch) > 0 {
			patch, err := jsonpatch.DecodePatch(resp.Response.Patch)
			if err != nil {
				return fail(err)
			}
			patched, err := patch.Apply(raw)
			if err != nil {
				return fail(err)
			}
			final = corev1.Pod{}
			if err := json.Unmarshal(patched, &final); err != nil {
				return fail(err)
			}
			final.Namespace = tc.Namespace.Name
		}
	}
	proxy := inject.FindSidecar(&final)
	ans.Injected = proxy != nil
	if !ans.Injected {
		return ans
	}
	ans.APIRefusal = resourceRefusal(proxy)
	if ans.APIRefusal != "" {
		return ans
	}
	if tc.Install.CNI {
		ans.Iptables = cniRedirect(&final, ist.cniExclude)
	} else {
		ans.Iptables = initArgs(&final)
	}
	return ans
}

// resourceRefusal is the part of the API server's pod validation the proxy resources meet
// (ValidateResourceRequirements in k8s.io/kubernetes/pkg/apis/core/validation): amounts are
// not negative, and a request is not above its limit (a missing request defaults to the limit).
func resourceRefusal(c *corev1.Container) string {
	for name, q := range c.Resources.Limits {
		if q.Sign() < 0 {
			return fmt.Sprintf("limits.%s: must be greater than or equal to 0", name)
		}
	}
	for name, q := range c.Resources.Requests {
		if q.Sign() < 0 {
			return fmt.Sprintf("requests.%s: must be greater than or equal to 0", name)
		}
		if l, ok := c.Resources.Limits[name]; ok && q.Cmp(l) > 0 {
			return fmt.Sprintf("requests.%s: must be less than or equal to %s limit of %s", name, name, l.String())
		}
	}
	_ = resource.Quantity{}
	return ""
}

func initArgs(pod *corev1.Pod) *iptables {
	init := inject.FindContainer("istio-init", pod.Spec.InitContainers)
	if init == nil {
		return &iptables{Via: "none"}
	}
	args := map[string]string{}
	for i := 0; i+1 < len(init.Args); i++ {
		if strings.HasPrefix(init.Args[i], "-") && !strings.HasPrefix(init.Args[i], "--") {
			args[init.Args[i]] = init.Args[i+1]
			i++
		}
	}
	return &iptables{Via: "init", Args: args, ExcludeInbound: args["-d"], ExcludeOutbound: args["-o"], IncludeOutbound: args["-q"], InterceptionMode: args["-m"]}
}

// onePod is the API server the CNI plugin asks for the pod: it knows this one pod (in
// sidecar mode the plugin reads nothing else); any other call would hit a nil embed.
type onePod struct {
	kubernetes.Interface
	pod *corev1.Pod
}

func (c onePod) CoreV1() typedcorev1.CoreV1Interface { return onePodCore{pod: c.pod} }

type onePodCore struct {
	typedcorev1.CoreV1Interface
	pod *corev1.Pod
}

func (c onePodCore) Pods(string) typedcorev1.PodInterface { return onePodPods{pod: c.pod} }

type onePodPods struct {
	typedcorev1.PodInterface
	pod *corev1.Pod
}

func (c onePodPods) Get(context.Context, string, metav1.GetOptions) (*corev1.Pod, error) {
	return c.pod.DeepCopy(), nil
}

type recorder struct{ redirect *plugin.Redirect }

func (r *recorder) Program(_, _ string, redirect *plugin.Redirect) error {
	r.redirect = redirect
	return nil
}

// cniRedirect runs the istio-cni plugin's ADD for the injected pod, with a fake API server
// holding the pod, and reads the redirect it would program.
func cniRedirect(pod *corev1.Pod, exclude []string) *iptables {
	p := pod.DeepCopy()
	if p.Name == "" {
		p.Name = "case"
	}
	client := onePod{pod: p}
	rec := &recorder{}
	conf := &plugin.Config{ExcludeNamespaces: exclude}
	args := &skel.CmdArgs{ContainerID: "c", Netns: "/var/run/netns/case", IfName: "eth0", Args: "K8S_POD_NAMESPACE=" + p.Namespace + ";K8S_POD_NAME=" + p.Name}
	if err := doAddRun(args, conf, client, rec); err != nil {
		return &iptables{Via: "cni", Error: err.Error()}
	}
	if rec.redirect == nil {
		return &iptables{Via: "none"}
	}
	field := func(name string) string { return reflect.ValueOf(rec.redirect).Elem().FieldByName(name).String() }
	return &iptables{
		Via:              "cni",
		ExcludeInbound:   field("excludeInboundPorts"),
		ExcludeOutbound:  field("excludeOutboundPorts"),
		IncludeOutbound:  field("includeOutboundPorts"),
		InterceptionMode: field("redirectMode"),
	}
}

func main() {
	// Istio's scopes log every decision; the answers are the output.
	for _, s := range log.Scopes() {
		s.SetOutputLevel(log.NoneLevel)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		line := bytes.TrimSpace(in.Bytes())
		if len(line) == 0 {
			continue
		}
		var tc testCase
		if err := json.Unmarshal(line, &tc); err != nil {
			_ = enc.Encode(answer{Error: "case: " + err.Error()})
			continue
		}
		_ = enc.Encode(decide(tc))
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "istio-oracle:", err)
		os.Exit(2)
	}
}
