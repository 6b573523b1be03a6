package runtime

import (
	"context"
	"log/slog"

	"github.com/klite/klite/internal/runtime/cri"
)

// Run serves the CRI on o.Listen until ctx is cancelled. Sandboxes and
// containers keep running after it returns; a later Run finds them again.
func Run(ctx context.Context, o *Options, logger *slog.Logger) error {
	if err := o.Validate(); err != nil {
		return err
	}
	cfg := o.criConfig()
	cfg.Logger = logger
	svc, err := cri.New(cfg)
	if err != nil {
		return err
	}
	defer svc.Close()
	ln, err := cri.ListenUnix(o.Listen)
	if err != nil {
		return err
	}
	return svc.Serve(ctx, ln)
}
