// Generates a realistic manifest set: per Antfly cluster a Namespace, the AntflyCluster and
// its two StatefulSets, plus Pods and unrelated Deployments/Services, ~900 bytes a document.
// Some clusters are misconfigured on purpose, so `check` has findings to locate.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const meshes = [
  { ns: { 'istio-injection': 'enabled' }, ann: { 'sidecar.istio.io/inject': 'true', 'sidecar.istio.io/proxyCPU': '100m' } },
  { ns: {}, ann: { 'linkerd.io/inject': 'enabled', 'config.linkerd.io/skip-inbound-ports': '9017,9021' } },
  { ns: {}, ann: { 'consul.hashicorp.com/connect-inject': 'true' } },
  { ns: { 'istio.io/dataplane-mode': 'ambient' }, ann: {} },
];

const yamlMap = (m, indent) =>
  Object.keys(m).length === 0 ? ' {}' : '\n' + Object.entries(m).map(([k, v]) => `${' '.repeat(indent)}${k}: "${v}"`).join('\n');

const statefulSet = (ns, cluster, role, port, i, ann) => `# ${role} nodes of ${cluster}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${cluster}-${role}
  namespace: ${ns}
  labels:
    app.kubernetes.io/name: antfly-database
    app.kubernetes.io/instance: ${cluster}
    app.kubernetes.io/component: ${role}
spec:
  replicas: 3
  serviceName: ${cluster}-${role}
  selector:
    matchLabels:
      app.kubernetes.io/instance: ${cluster}
      app.kubernetes.io/component: ${role}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: antfly-database
        app.kubernetes.io/instance: ${cluster}
        app.kubernetes.io/component: ${role}${i % 7 === 3 ? '\n        sidecar.istio.io/inject: "false"' : ''}
      annotations:${yamlMap(ann, 8)}
    spec:
      ${i % 11 === 5 ? 'hostNetwork: true\n      ' : ''}containers:
        - name: antfly
          image: ghcr.io/antflydb/antfly:v0.9.${i % 10}
          args: ["--role", "${role}", "--raft-port", "${port}"]
          ports:
            - { name: raft, containerPort: ${port} }
            - { name: api, containerPort: ${role === 'metadata' ? 12377 : 12380} }
          env:
            - name: POD_NAME
              valueFrom: { fieldRef: { fieldPath: metadata.name } }
            - name: ANTFLY_CLUSTER
              value: ${cluster}
          resources:
            requests: { cpu: 500m, memory: 512Mi }
            limits: { cpu: "2", memory: 2Gi }
          readinessProbe:
            httpGet: { path: /healthz, port: api }
            periodSeconds: 5
          volumeMounts:
            - { name: data, mountPath: /var/lib/antfly }
  volumeClaimTemplates:
    - metadata: { name: data }
      spec:
        accessModes: [ReadWriteOnce]
        resources: { requests: { storage: 10Gi } }
`;

const cluster = (ns, name, enabled, ann) => `apiVersion: antfly.io/v1
kind: AntflyCluster
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  image: ghcr.io/antflydb/antfly:latest
  serviceMesh:
    enabled: ${enabled}
    annotations:${yamlMap(ann, 6)}
  metadataNodes:
    replicas: 3
    metadataRaft: { port: 9017 }
  dataNodes:
    replicas: 3
    raft: { port: 9021 }
  storage: { storageClass: standard, metadataStorage: 1Gi, dataStorage: 10Gi }
`;

const pod = (ns, cluster, n, proxy) => `apiVersion: v1
kind: Pod
metadata:
  name: ${cluster}-data-${n}
  namespace: ${ns}
  labels:
    app.kubernetes.io/name: antfly-database
    app.kubernetes.io/instance: ${cluster}
spec:
  containers:
    - name: antfly
      image: ghcr.io/antflydb/antfly:latest
      args: ["--role", "data", "--raft-port", "9021"]
      ports:
        - { name: raft, containerPort: 9021 }
        - { name: api, containerPort: 12380 }
      resources:
        requests: { cpu: 500m, memory: 512Mi }
${proxy ? '    - name: istio-proxy\n      image: istio/proxyv2:1.24.0\n' : ''}status:
  phase: Running
`;

const other = (ns, n) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-${n}
  namespace: ${ns}
  labels: { app: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata:
      labels: { app: web, tier: frontend }
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports: [{ containerPort: 8080 }]
          env:
            - { name: UPSTREAM, value: "http://api-${n}.${ns}.svc:8080" }
          resources:
            requests: { cpu: 100m, memory: 128Mi }
          livenessProbe:
            httpGet: { path: /, port: 8080 }
          volumeMounts:
            - { name: logs, mountPath: /var/log/nginx }
        # a logging sidecar: not a mesh proxy
        - name: log-shipper
          image: fluent/fluent-bit:3.1
          args: ["-i", "tail", "-p", "path=/var/log/nginx/*.log", "-o", "stdout"]
          resources:
            requests: { cpu: 20m, memory: 32Mi }
            limits: { memory: 64Mi }
          volumeMounts:
            - { name: logs, mountPath: /var/log/nginx, readOnly: true }
      volumes:
        - name: logs
          emptyDir: {}
---
apiVersion: v1
kind: Service
metadata:
  name: web-${n}
  namespace: ${ns}
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
  type: ClusterIP
`;

const configMap = (ns, cluster) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${cluster}-config
  namespace: ${ns}
  labels: { app.kubernetes.io/instance: ${cluster} }
data:
  antfly.yaml: |
    cluster: ${cluster}
    metadata:
      raft: { port: 9017, heartbeat: 100ms, election: 1s, snapshotEvery: 10000 }
      api: { port: 12377, tls: false }
    data:
      raft: { port: 9021, heartbeat: 100ms, election: 1s }
      api: { port: 12380 }
      shards: 16
      replication: 3
    storage:
      engine: pebble
      cacheSize: 512Mi
      compaction: { concurrency: 2, l0Threshold: 8 }
    telemetry:
      metrics: { enabled: true, port: 9100 }
      tracing: { enabled: false, samplingRate: 0.01 }
    logging: { level: info, format: json }
`;

/** Writes about `count` documents into `dir`, 100 documents a file. Returns the count written. */
export const writeCorpus = (dir, count) => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const docs = [];
  for (let i = 0; docs.length < count; i++) {
    const m = meshes[i % meshes.length];
    const ns = `team-${i}`;
    const name = `db-${i}`;
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n  labels:${yamlMap(m.ns, 4)}\n`);
    docs.push(cluster(ns, name, i % 9 !== 4, m.ann));
    docs.push(statefulSet(ns, name, 'metadata', 9017, i, m.ann));
    docs.push(statefulSet(ns, name, 'data', 9021, i, m.ann));
    docs.push(pod(ns, name, 0, i % 4 === 0));
    docs.push(configMap(ns, name));
    docs.push(...other(ns, i).split('---\n'));
  }
  docs.length = count;
  let bytes = 0;
  for (let f = 0; f * 100 < docs.length; f++) {
    const text = docs.slice(f * 100, f * 100 + 100).join('---\n');
    bytes += Buffer.byteLength(text);
    writeFileSync(join(dir, `part-${String(f).padStart(4, '0')}.yaml`), text);
  }
  return { documents: docs.length, bytes };
};
