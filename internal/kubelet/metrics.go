package kubelet

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// metricFamily is one resource metric of /metrics/resource, named, helped
// and typed as upstream's resource metrics collector does.
type metricFamily struct {
	name, help, typ string
	samples         []metricSample
}

type metricSample struct {
	labels [][2]string
	value  float64
	at     metav1.Time
}

// resourceMetrics renders a Summary (nil after a failed scrape) as the
// Prometheus text exposition format of /metrics/resource.
func resourceMetrics(w io.Writer, sum *statsapi.Summary) {
	fams := []*metricFamily{
		{name: "container_cpu_usage_seconds_total", help: "[STABLE] Cumulative cpu time consumed by the container in core-seconds", typ: "counter"},
		{name: "container_memory_working_set_bytes", help: "[STABLE] Current working set of the container in bytes", typ: "gauge"},
		{name: "container_start_time_seconds", help: "[STABLE] Start time of the container since unix epoch in seconds", typ: "gauge"},
		{name: "node_cpu_usage_seconds_total", help: "[STABLE] Cumulative cpu time consumed by the node in core-seconds", typ: "counter"},
		{name: "node_memory_working_set_bytes", help: "[STABLE] Current working set of the node in bytes", typ: "gauge"},
		{name: "pod_cpu_usage_seconds_total", help: "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", typ: "counter"},
		{name: "pod_memory_working_set_bytes", help: "[STABLE] Current working set of the pod in bytes", typ: "gauge"},
		{name: "resource_scrape_error", help: "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise", typ: "gauge"},
		{name: "scrape_error", help: "[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise", typ: "gauge"},
	}
	byName := map[string]*metricFamily{}
	for _, f := range fams {
		byName[f.name] = f
	}
	scrapeErr := 1.0
	if sum != nil {
		scrapeErr = 0
		addNodeMetrics(byName, sum.Node)
		for _, p := range sum.Pods {
			addPodMetrics(byName, p)
		}
	}
	for _, n := range []string{"resource_scrape_error", "scrape_error"} {
		byName[n].samples = []metricSample{{value: scrapeErr}}
	}
	for _, f := range fams {
		f.write(w)
	}
}

func addNodeMetrics(m map[string]*metricFamily, n statsapi.NodeStats) {
	if n.CPU != nil && n.CPU.UsageCoreNanoSeconds != nil {
		m["node_cpu_usage_seconds_total"].add(nil, float64(*n.CPU.UsageCoreNanoSeconds)/1e9, n.CPU.Time)
	}
	if n.Memory != nil && n.Memory.WorkingSetBytes != nil {
		m["node_memory_working_set_bytes"].add(nil, float64(*n.Memory.WorkingSetBytes), n.Memory.Time)
	}
}

func addPodMetrics(m map[string]*metricFamily, p statsapi.PodStats) {
	pl := [][2]string{{"namespace", p.PodRef.Namespace}, {"pod", p.PodRef.Name}}
	if p.CPU != nil && p.CPU.UsageCoreNanoSeconds != nil {
		m["pod_cpu_usage_seconds_total"].add(pl, float64(*p.CPU.UsageCoreNanoSeconds)/1e9, p.CPU.Time)
	}
	if p.Memory != nil && p.Memory.WorkingSetBytes != nil {
		m["pod_memory_working_set_bytes"].add(pl, float64(*p.Memory.WorkingSetBytes), p.Memory.Time)
	}
	for _, c := range p.Containers {
		cl := [][2]string{{"container", c.Name}, pl[0], pl[1]}
		if c.CPU != nil && c.CPU.UsageCoreNanoSeconds != nil {
			m["container_cpu_usage_seconds_total"].add(cl, float64(*c.CPU.UsageCoreNanoSeconds)/1e9, c.CPU.Time)
		}
		if c.Memory != nil && c.Memory.WorkingSetBytes != nil {
			m["container_memory_working_set_bytes"].add(cl, float64(*c.Memory.WorkingSetBytes), c.Memory.Time)
		}
		if !c.StartTime.IsZero() {
			m["container_start_time_seconds"].add(cl, float64(c.StartTime.UnixNano())/1e9, c.StartTime)
		}
	}
}

func (f *metricFamily) add(labels [][2]string, v float64, at metav1.Time) {
	f.samples = append(f.samples, metricSample{labels: labels, value: v, at: at})
}

// write prints the family, its samples sorted by labels; a family without
// samples prints nothing, as client_golang does.
func (f *metricFamily) write(w io.Writer) {
	if len(f.samples) == 0 {
		return
	}
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.typ)
	lines := make([]string, 0, len(f.samples))
	for _, s := range f.samples {
		lines = append(lines, s.format(f.name))
	}
	sort.Strings(lines)
	for _, l := range lines {
		io.WriteString(w, l)
	}
}

// escapeLabel escapes a label value as the text format requires.
func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(v)
}

func (s metricSample) format(name string) string {
	var b strings.Builder
	b.WriteString(name)
	if len(s.labels) > 0 {
		b.WriteByte('{')
		for i, l := range s.labels {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `%s="%s"`, l[0], escapeLabel(l[1]))
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(strconv.FormatFloat(s.value, 'g', -1, 64))
	if !s.at.IsZero() {
		fmt.Fprintf(&b, " %d", s.at.UnixMilli())
	}
	b.WriteByte('\n')
	return b.String()
}

func (s *server) resourceMetrics(w http.ResponseWriter, r *http.Request) {
	sum, err := s.k.Summary(r.Context())
	if err != nil {
		s.k.log.Warn("resource metrics", "err", err)
		sum = nil
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	resourceMetrics(w, sum)
}
