package scheduler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klite/klite/internal/scheduler/framework"
)

func TestConfigFile(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		check   func(t *testing.T, o *Options, p []framework.Profile)
		wantErr string
	}{
		{name: "weights, disabled plugins, args and two profiles", yaml: `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection: {leaderElect: false, leaseDuration: 30s}
percentageOfNodesToScore: 20
profiles:
- schedulerName: default-scheduler
  plugins:
    multiPoint:
      disabled: [{name: ImageLocality}]
    score:
      enabled: [{name: NodeResourcesFit, weight: 5}]
      disabled: [{name: TaintToleration}]
  pluginConfig:
  - name: NodeResourcesFit
    args: {scoringStrategy: {type: MostAllocated}}
- schedulerName: packer
  percentageOfNodesToScore: 100
`, check: func(t *testing.T, o *Options, p []framework.Profile) {
			if o.LeaderElect || o.LeaseDuration != 30*time.Second {
				t.Errorf("leader election = %v %v", o.LeaderElect, o.LeaseDuration)
			}
			if len(p) != 2 || p[0].PercentageOfNodesToScore != 20 || p[1].PercentageOfNodesToScore != 100 || p[1].SchedulerName != "packer" {
				t.Fatalf("profiles = %+v", p)
			}
			spec := func(name string) *framework.PluginSpec {
				for i := range p[0].Plugins {
					if p[0].Plugins[i].Name == name {
						return &p[0].Plugins[i]
					}
				}
				return nil
			}
			if spec("ImageLocality") != nil {
				t.Error("ImageLocality still enabled")
			}
			if fit := spec("NodeResourcesFit"); fit.Weight != 5 || !strings.Contains(string(fit.Args), "MostAllocated") {
				t.Errorf("NodeResourcesFit = %+v", fit)
			}
			if tt := spec("TaintToleration"); len(tt.Disabled) != 1 || tt.Disabled[0] != framework.PointScore {
				t.Errorf("TaintToleration disabled at %v, want [score]", tt.Disabled)
			}
		}},
		{name: "unknown extension point", yaml: "profiles:\n- plugins: {sideways: {}}\n", wantErr: `unknown extension point "sideways"`},
		{name: "unknown field", yaml: "profilez: []\n", wantErr: "profilez"},
		{name: "args for a disabled plugin", yaml: "profiles:\n- pluginConfig: [{name: Nope, args: {}}]\n", wantErr: `pluginConfig for "Nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			o := NewOptions()
			p, err := loadConfigFile(path, o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o, p)
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Options)
		ok     bool
	}{
		{"defaults", func(*Options) {}, true},
		{"renew deadline above lease", func(o *Options) { o.RenewDeadline = time.Minute }, false},
		{"percentage above 100", func(o *Options) { o.PercentageOfNodesToScore = 101 }, false},
		{"no scheduler name", func(o *Options) { o.SchedulerName = "" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			tc.mutate(o)
			if err := o.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
