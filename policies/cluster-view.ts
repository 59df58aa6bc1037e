// The cluster view of the per-object rules is the object index's ClusterView face; this
// module keeps the names the rest of the code imported before the index existed.
export {
  EMPTY_INDEX as EMPTY_VIEW,
  isClusterViewObject,
  labelsMatch,
  PlainObjectIndex as ObjectClusterView,
  type ClusterRef,
  type ClusterView,
} from './index/object-index.js';
