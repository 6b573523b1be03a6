package scheduler

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/klite/klite/internal/scheduler/framework"
	"github.com/klite/klite/internal/scheduler/plugins"
)

// fileConfig is the part of upstream's KubeSchedulerConfiguration klite understands.
type fileConfig struct {
	APIVersion     string `json:"apiVersion"`
	Kind           string `json:"kind"`
	LeaderElection *struct {
		LeaderElect       *bool     `json:"leaderElect"`
		LeaseDuration     *duration `json:"leaseDuration"`
		RenewDeadline     *duration `json:"renewDeadline"`
		RetryPeriod       *duration `json:"retryPeriod"`
		ResourceName      string    `json:"resourceName"`
		ResourceNamespace string    `json:"resourceNamespace"`
	} `json:"leaderElection"`
	ClientConnection *struct {
		Kubeconfig string  `json:"kubeconfig"`
		QPS        float32 `json:"qps"`
		Burst      int     `json:"burst"`
	} `json:"clientConnection"`
	PercentageOfNodesToScore *int32        `json:"percentageOfNodesToScore"`
	PodInitialBackoffSeconds int64         `json:"podInitialBackoffSeconds"`
	PodMaxBackoffSeconds     int64         `json:"podMaxBackoffSeconds"`
	Profiles                 []fileProfile `json:"profiles"`
}

type fileProfile struct {
	SchedulerName            string               `json:"schedulerName"`
	PercentageOfNodesToScore *int32               `json:"percentageOfNodesToScore"`
	Plugins                  map[string]pluginSet `json:"plugins"`
	PluginConfig             []pluginConfigEntry  `json:"pluginConfig"`
}

type pluginSet struct {
	Enabled  []pluginRef `json:"enabled"`
	Disabled []pluginRef `json:"disabled"`
}

type pluginRef struct {
	Name   string `json:"name"`
	Weight int64  `json:"weight"`
}

type pluginConfigEntry struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

// duration parses "15s"-style strings.
type duration struct{ d time.Duration }

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	d.d = v
	return err
}

// extensionPoints are the per-point plugin sets of KubeSchedulerConfiguration.
var extensionPoints = []string{
	framework.PointPreFilter, framework.PointFilter, framework.PointPostFilter, framework.PointPreScore,
	framework.PointScore, framework.PointReserve, framework.PointPreBind, framework.PointBind,
}

// loadConfigFile applies a KubeSchedulerConfiguration file to o and returns its profiles.
func loadConfigFile(path string, o *Options) ([]framework.Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fc fileConfig
	if err := yaml.UnmarshalStrict(data, &fc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if fc.Kind != "" && fc.Kind != "KubeSchedulerConfiguration" {
		return nil, fmt.Errorf("%s: kind %q, want KubeSchedulerConfiguration", path, fc.Kind)
	}
	fc.applyTo(o)
	if len(fc.Profiles) == 0 {
		fc.Profiles = []fileProfile{{SchedulerName: o.SchedulerName}}
	}
	var out []framework.Profile
	for _, fp := range fc.Profiles {
		p, err := fp.profile(o.PercentageOfNodesToScore)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func (fc *fileConfig) applyTo(o *Options) {
	if le := fc.LeaderElection; le != nil {
		if le.LeaderElect != nil {
			o.LeaderElect = *le.LeaderElect
		}
		setDur(&o.LeaseDuration, le.LeaseDuration)
		setDur(&o.RenewDeadline, le.RenewDeadline)
		setDur(&o.RetryPeriod, le.RetryPeriod)
		o.ResourceName = orDefault(le.ResourceName, o.ResourceName)
		o.ResourceNamespace = orDefault(le.ResourceNamespace, o.ResourceNamespace)
	}
	if cc := fc.ClientConnection; cc != nil {
		o.Kubeconfig = orDefault(cc.Kubeconfig, o.Kubeconfig)
		if cc.QPS > 0 {
			o.QPS = cc.QPS
		}
		if cc.Burst > 0 {
			o.Burst = cc.Burst
		}
	}
	if fc.PercentageOfNodesToScore != nil {
		o.PercentageOfNodesToScore = *fc.PercentageOfNodesToScore
	}
	if fc.PodInitialBackoffSeconds > 0 {
		o.PodInitialBackoff = secs(fc.PodInitialBackoffSeconds)
	}
	if fc.PodMaxBackoffSeconds > 0 {
		o.PodMaxBackoff = secs(fc.PodMaxBackoffSeconds)
	}
}

// profile starts from the default plugins and applies multiPoint, then per-point, changes.
func (fp *fileProfile) profile(globalPct int32) (framework.Profile, error) {
	p := plugins.DefaultProfile(orDefault(fp.SchedulerName, "default-scheduler"))
	p.PercentageOfNodesToScore = globalPct
	if fp.PercentageOfNodesToScore != nil {
		p.PercentageOfNodesToScore = *fp.PercentageOfNodesToScore
	}
	if mp, ok := fp.Plugins["multiPoint"]; ok {
		p.Plugins = applySet(p.Plugins, mp, "")
	}
	for point, set := range fp.Plugins {
		if point == "multiPoint" {
			continue
		}
		if point == "queueSort" || point == "preEnqueue" || point == "permit" || point == "postBind" {
			continue // klite's queue sorts by priority; these points have no in-tree plugins here
		}
		if !slices.Contains(extensionPoints, point) {
			return p, fmt.Errorf("profile %q: unknown extension point %q", p.SchedulerName, point)
		}
		p.Plugins = applySet(p.Plugins, set, point)
	}
	for _, pc := range fp.PluginConfig {
		i := slices.IndexFunc(p.Plugins, func(s framework.PluginSpec) bool { return s.Name == pc.Name })
		if i < 0 {
			return p, fmt.Errorf("profile %q: pluginConfig for %q, which is not enabled", p.SchedulerName, pc.Name)
		}
		p.Plugins[i].Args = pc.Args
	}
	return p, nil
}

// applySet disables and enables plugins at one point ("" for every point).
func applySet(specs []framework.PluginSpec, set pluginSet, point string) []framework.PluginSpec {
	for _, d := range set.Disabled {
		specs = slices.DeleteFunc(slices.Clone(specs), func(s framework.PluginSpec) bool {
			return point == "" && (d.Name == "*" || d.Name == s.Name)
		})
		if point != "" {
			for i := range specs {
				if d.Name == "*" || d.Name == specs[i].Name {
					specs[i].Disabled = append(specs[i].Disabled, point)
				}
			}
		}
	}
	for _, e := range set.Enabled {
		i := slices.IndexFunc(specs, func(s framework.PluginSpec) bool { return s.Name == e.Name })
		if i < 0 {
			spec := framework.PluginSpec{Name: e.Name, Weight: e.Weight}
			if point != "" {
				spec.Disabled = slices.DeleteFunc(slices.Clone(extensionPoints), func(x string) bool { return x == point })
			}
			specs = append(specs, spec)
			continue
		}
		if point != "" {
			specs[i].Disabled = slices.DeleteFunc(specs[i].Disabled, func(x string) bool { return x == point })
		}
		if e.Weight != 0 {
			specs[i].Weight = e.Weight
		}
	}
	return specs
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
