// Package agent wires `klite agent --server URL --token T`: a worker node
// joining a cluster. It runs the kubelet (and klite's runtime) with a
// client authenticated by the server's node token; the service proxy joins
// it in a later issue.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	appkubelet "github.com/klite/klite/internal/app/kubelet"
)

// Options are `klite agent`'s flags: how to reach the server, plus the kubelet's.
type Options struct {
	Server    string
	Token     string
	TokenFile string
	CAFile    string
	// InsecureSkipTLSVerify trusts any server certificate (explicit opt-in only).
	InsecureSkipTLSVerify bool
	Kubelet               *appkubelet.Options
}

// NewOptions returns the defaults.
func NewOptions() *Options { return &Options{Kubelet: appkubelet.NewOptions()} }

// AddFlags registers the agent's and the kubelet's flags (the kubelet's
// --kubeconfig is replaced by --server/--token).
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Server, "server", o.Server, "URL of the cluster's API server (https://HOST:6443)")
	fs.StringVar(&o.Token, "token", o.Token, "Node join token (the server's <data-dir>/server/node-token)")
	fs.StringVar(&o.TokenFile, "token-file", o.TokenFile, "File holding the node join token")
	fs.StringVar(&o.CAFile, "ca-file", o.CAFile, "The server's CA certificate (the server's <data-dir>/server/tls/ca.crt)")
	fs.BoolVar(&o.InsecureSkipTLSVerify, "insecure-skip-tls-verify", o.InsecureSkipTLSVerify,
		"Do not verify the server's certificate (insecure; only when no --ca-file is available)")
	kfs := pflag.NewFlagSet("kubelet", pflag.ContinueOnError)
	o.Kubelet.AddFlags(kfs)
	kfs.VisitAll(func(f *pflag.Flag) {
		if f.Name != "kubeconfig" && fs.Lookup(f.Name) == nil {
			fs.AddFlag(f)
		}
	})
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	if u, err := url.Parse(o.Server); o.Server == "" || err != nil || u.Scheme != "https" && u.Scheme != "http" {
		errs = append(errs, fmt.Errorf("--server must be the API server's URL, got %q", o.Server))
	}
	if o.Token == "" && o.TokenFile == "" {
		errs = append(errs, errors.New("--token or --token-file is required"))
	}
	if o.CAFile == "" && !o.InsecureSkipTLSVerify && strings.HasPrefix(o.Server, "https") {
		errs = append(errs, errors.New("--ca-file is required (or --insecure-skip-tls-verify, explicitly)"))
	}
	return errors.Join(errs...)
}

// RestConfig is the agent's client configuration.
func (o *Options) RestConfig() (*rest.Config, error) {
	token := o.Token
	if o.TokenFile != "" {
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return nil, err
		}
		token = strings.TrimSpace(string(b))
	}
	cfg := &rest.Config{Host: o.Server, BearerToken: token}
	cfg.TLSClientConfig.CAFile = o.CAFile
	cfg.TLSClientConfig.Insecure = o.InsecureSkipTLSVerify && o.CAFile == ""
	return cfg, nil
}

// Command returns `klite agent`.
func Command() *cobra.Command {
	o := NewOptions()
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Join this machine to a cluster as a worker node (kubelet and container runtime)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			klog.SetSlogLogger(logger)
			slog.SetDefault(logger)
			return Run(cmd.Context(), o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// Run joins the cluster and runs the node until ctx is cancelled.
func Run(ctx context.Context, o *Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	cfg, err := o.RestConfig()
	if err != nil {
		return err
	}
	return appkubelet.Run(ctx, cfg, o.kubeletOptions())
}

// kubeletOptions are the kubelet's options: unless --client-ca-file says
// otherwise, the kubelet API trusts clients signed by the cluster CA
// (--ca-file), which signs the API server's kubelet client certificate.
func (o *Options) kubeletOptions() *appkubelet.Options {
	ko := *o.Kubelet
	if ko.ClientCAFile == "" {
		ko.ClientCAFile = o.CAFile
	}
	return &ko
}
