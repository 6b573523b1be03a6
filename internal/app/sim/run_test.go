package sim

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/apiserver/apiservertest"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Options)
		wantErr string
	}{
		{"defaults", func(*Options) {}, ""},
		{"bad cpu", func(o *Options) { o.CPU = "lots" }, "--cpu"},
		{"bad taint effect", func(o *Options) { o.Taints = []string{"a=b:Sometimes"} }, "--taints"},
		{"bad label", func(o *Options) { o.Labels = []string{"novalue"} }, "--labels"},
		{"negative nodes", func(o *Options) { o.Nodes = -1 }, "--nodes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			tc.mutate(o)
			err := o.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func flagSet(o *Options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("sim", pflag.ContinueOnError)
	o.AddFlags(fs)
	return fs
}

func TestRunRegistersNodesFromFlags(t *testing.T) {
	c := apiservertest.StartT(t, apiservertest.Options{})
	o := NewOptions()
	if err := flagSet(o).Parse([]string{"--nodes=2", "--name-prefix=flag", "--cpu=3", "--labels=zone=b", "--taints=k=v:NoExecute"}); err != nil {
		t.Fatal(err)
	}
	if o.Nodes != 2 || o.NamePrefix != "flag" || o.CPU != "3" {
		t.Fatalf("flags not applied: %+v", o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- Run(ctx, c.Config, *o) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := c.Client.CoreV1().Nodes().Get(context.Background(), "flag-1", metav1.GetOptions{})
		if err == nil && n.Labels["zone"] == "b" && n.Status.Allocatable.Cpu().String() == "3" && len(n.Spec.Taints) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node flag-1 not registered as asked: %v %v", n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
