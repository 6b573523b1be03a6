package resourcequota

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/klite/klite/internal/quota/usage"
)

// usage computes status.used for the resources q limits: it sums usage.Of over the namespace's
// objects of every kind the controller watches that q selects, then counts any other
// count/<resource>.<group> it limits by listing that resource.
func (c *Controller) usage(ctx context.Context, q *corev1.ResourceQuota) (corev1.ResourceList, error) {
	total := corev1.ResourceList{}
	objs, err := c.namespaceObjects(q.Namespace)
	if err != nil {
		return nil, err
	}
	for gr, list := range objs {
		for _, o := range list {
			if usage.Matches(q, o) {
				usage.Add(total, usage.Of(gr, o))
			}
		}
	}
	used := corev1.ResourceList{}
	for name := range q.Spec.Hard {
		if v, ok := total[name]; ok {
			used[name] = v
			continue
		}
		v, ok, err := c.zeroOrCount(ctx, q, name, objs)
		if err != nil {
			return nil, err
		}
		if ok {
			used[name] = v
		}
	}
	return used, nil
}

// zeroOrCount is the usage of a name nothing in the watched kinds added to: zero for names
// usage tracks, or a live count for count/<resource>.<group> of a kind the controller does
// not watch. ok is false for names nobody can count.
func (c *Controller) zeroOrCount(ctx context.Context, q *corev1.ResourceQuota, name corev1.ResourceName, objs map[schema.GroupResource][]runtime.Object) (resource.Quantity, bool, error) {
	zero := *resource.NewQuantity(0, resource.DecimalSI)
	res, isCount := strings.CutPrefix(string(name), "count/")
	if !isCount {
		return zero, usage.Tracked(name), nil
	}
	gr := schema.ParseGroupResource(res)
	if _, watched := objs[gr]; watched || usage.Scoped(q) {
		return zero, true, nil
	}
	n, err := c.countLive(ctx, q.Namespace, gr)
	if err != nil {
		return zero, false, fmt.Errorf("count %s: %w", gr, err)
	}
	return *resource.NewQuantity(n, resource.DecimalSI), true, nil
}

// namespaceObjects lists the namespace's objects of the watched kinds, by resource (every
// watched resource present, empty when the namespace has none).
func (c *Controller) namespaceObjects(ns string) (map[schema.GroupResource][]runtime.Object, error) {
	all := labels.Everything()
	out := map[schema.GroupResource][]runtime.Object{}
	pods, err := c.cfg.Pods.Lister().Pods(ns).List(all)
	if err != nil {
		return nil, err
	}
	svcs, _ := c.cfg.Services.Lister().Services(ns).List(all)
	cms, _ := c.cfg.ConfigMaps.Lister().ConfigMaps(ns).List(all)
	secrets, _ := c.cfg.Secrets.Lister().Secrets(ns).List(all)
	claims, _ := c.cfg.Claims.Lister().PersistentVolumeClaims(ns).List(all)
	rcs, _ := c.cfg.ReplicationControllers.Lister().ReplicationControllers(ns).List(all)
	quotas, _ := c.quotas.ResourceQuotas(ns).List(all)
	file(out, "pods", pods)
	file(out, "services", svcs)
	file(out, "configmaps", cms)
	file(out, "secrets", secrets)
	file(out, "persistentvolumeclaims", claims)
	file(out, "replicationcontrollers", rcs)
	file(out, "resourcequotas", quotas)
	return out, nil
}

// file puts a core resource's objects into out under its GroupResource.
func file[T runtime.Object](out map[schema.GroupResource][]runtime.Object, resource string, objs []T) {
	list := make([]runtime.Object, 0, len(objs))
	for _, o := range objs {
		list = append(list, o)
	}
	out[schema.GroupResource{Resource: resource}] = list
}

// countLive counts a namespace's objects of any served resource, listing only their metadata.
func (c *Controller) countLive(ctx context.Context, ns string, gr schema.GroupResource) (int64, error) {
	path := "/api/v1"
	if gr.Group != "" {
		groups, err := c.cfg.Client.Discovery().ServerGroups()
		if err != nil {
			return 0, err
		}
		path = ""
		for _, g := range groups.Groups {
			if g.Name == gr.Group {
				path = "/apis/" + g.PreferredVersion.GroupVersion
			}
		}
		if path == "" {
			return 0, fmt.Errorf("group %q is not served", gr.Group)
		}
	}
	var list struct {
		Items []struct{} `json:"items"`
	}
	raw, err := c.cfg.Client.Discovery().RESTClient().Get().AbsPath(path, "namespaces", ns, gr.Resource).
		SetHeader("Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json").DoRaw(ctx)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return 0, err
	}
	return int64(len(list.Items)), nil
}
