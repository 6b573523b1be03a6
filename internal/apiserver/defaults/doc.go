// Package defaults fills in the fields the Kubernetes API server defaults when
// a client leaves them unset, for every built-in kind klite serves.
//
// The API server decodes a request body into the typed k8s.io/api object and
// calls Apply on it before validation and storage. Apply mutates the object in
// place, never overwrites a value the client set, and is a no-op for kinds it
// does not know. The values follow upstream kube-apiserver (the generated
// defaulters of pkg/apis/*/v1 plus the few defaults upstream sets in a
// resource's create strategy, such as a Namespace's "kubernetes" finalizer and
// a Job's generated selector), so objects read back through kubectl look the
// same as on a real cluster.
//
// ApplyUpdate is Apply for an update: it also does what upstream's update
// strategies do before validation, such as keeping a Service's allocated
// cluster IP when the client left it empty and dropping node ports when the
// Service's type no longer uses them.
//
// Apply generates a Job's selector from metadata.uid, so the caller sets the
// uid (and resolves generateName) before calling it.
package defaults
