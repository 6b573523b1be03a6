// Package admission defines the API server's admission stage: mutating plugins run in order on
// every write, then validation, then validating plugins. A plugin's error rejects the request.
package admission

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/klite/klite/internal/apiserver/auth"
)

// Operation is the kind of write being admitted.
type Operation string

const (
	Create  Operation = "CREATE"
	Update  Operation = "UPDATE"
	Delete  Operation = "DELETE"
	Connect Operation = "CONNECT"
)

// Attributes describe one write. Object is the incoming object (mutable by mutating plugins);
// OldObject the stored one for updates and deletes.
type Attributes struct {
	Operation   Operation
	Resource    schema.GroupVersionResource
	Kind        schema.GroupVersionKind
	Subresource string
	Namespace   string
	Name        string
	Object      runtime.Object
	OldObject   runtime.Object
	User        *auth.User
	DryRun      bool
}

// Mutating may change a.Object.
type Mutating interface {
	Admit(ctx context.Context, a *Attributes) error
}

// Validating may only accept or reject.
type Validating interface {
	Validate(ctx context.Context, a *Attributes) error
}

// WaitSynced waits up to timeout for a plugin's informers (synced reports them; nil means
// nothing to wait for), then fails the write with 503 naming the plugin, so that a server
// just starting never admits a write against an empty cache.
func WaitSynced(ctx context.Context, synced func() bool, timeout time.Duration, plugin string) error {
	if synced == nil || synced() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !synced() {
		select {
		case <-ctx.Done():
			return apierrors.NewServiceUnavailable(plugin + " admission is not ready yet")
		case <-t.C:
		}
	}
	return nil
}
