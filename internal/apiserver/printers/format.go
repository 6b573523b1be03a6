package printers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Placeholders kubectl users know from upstream's cells.
const (
	none    = "<none>"
	unknown = "<unknown>"
	unset   = "<unset>"
)

// objectMetaDoc describes ObjectMeta's fields, for the Name and Age columns.
func objectMetaDoc(field string) string {
	return metav1.ObjectMeta{}.SwaggerDoc()[field]
}

// nameColumn is the first column of almost every table.
func nameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc("name")}
}

// ageColumn shows how long ago the object was created.
func ageColumn() metav1.TableColumnDefinition {
	return str("Age", objectMetaDoc("creationTimestamp"))
}

// str is a string column shown by default.
func str(name, description string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: "string", Description: description}
}

// integer is an integer column shown by default.
func integer(name, description string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: "integer", Description: description}
}

// wide marks a column as shown only with `-o wide` (priority 1).
func wide(c metav1.TableColumnDefinition) metav1.TableColumnDefinition {
	c.Priority = 1
	return c
}

// templateColumns are the wide Containers, Images and (unless selector is "") Selector
// columns of the workload kinds.
func templateColumns(selector string) []metav1.TableColumnDefinition {
	cols := []metav1.TableColumnDefinition{
		wide(str("Containers", "Names of each container in the template.")),
		wide(str("Images", "Images referenced by each container in the template.")),
	}
	if selector != "" {
		cols = append(cols, wide(str("Selector", selector)))
	}
	return cols
}

// columns joins column groups.
func columns(groups ...[]metav1.TableColumnDefinition) []metav1.TableColumnDefinition {
	var all []metav1.TableColumnDefinition
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}

// cols is a column group written inline.
func cols(c ...metav1.TableColumnDefinition) []metav1.TableColumnDefinition { return c }

// age renders how long before now t was, as upstream's translateTimestampSince.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return unknown
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// microAge is age for a MicroTime.
func microAge(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return unknown
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// containerCells lays out the names and the images of containers, comma-separated.
func containerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	i := make([]string, len(containers))
	for k, c := range containers {
		n[k], i[k] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(i, ",")
}

// withTemplate appends the wide Containers and Images cells of a pod template and,
// unless selector is nil, its Selector cell.
func withTemplate(cells []interface{}, spec corev1.PodSpec, selector *string) []interface{} {
	names, images := containerCells(spec.Containers)
	cells = append(cells, names, images)
	if selector != nil {
		cells = append(cells, *selector)
	}
	return cells
}

// selectorString formats a label selector as upstream's metav1.FormatLabelSelector.
func selectorString(s *metav1.LabelSelector) *string {
	f := metav1.FormatLabelSelector(s)
	return &f
}

// listWithMore joins the first max items and counts the rest, as in
// "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...".
func listWithMore(list []string, count, max int, empty string) string {
	if count > max {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:max], ","), count-max)
	}
	if len(list) == 0 {
		return empty
	}
	return strings.Join(list, ",")
}

// boolPtr renders an optional bool as True, False or <unset>.
func boolPtr(b *bool) string {
	if b == nil {
		return unset
	}
	if *b {
		return "True"
	}
	return "False"
}

// sortedSet returns the distinct non-empty values, sorted.
func sortedSet(values []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range values {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// deref returns *p, or 0 when p is nil.
func deref(p *int32) int64 {
	if p == nil {
		return 0
	}
	return int64(*p)
}

// defaultPrinter is upstream's default table: the name and the creation time (RFC 3339, UTC).
func defaultPrinter() Printer {
	return Printer{
		Columns: cols(nameColumn(), metav1.TableColumnDefinition{Name: "Created At", Type: "date", Description: objectMetaDoc("creationTimestamp")}),
		Cells:   defaultCells,
	}
}

// defaultCells reads any object's name and creation time through its metadata.
func defaultCells(obj runtime.Object, _ time.Time) ([]interface{}, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	return []interface{}{m.GetName(), m.GetCreationTimestamp().UTC().Format(time.RFC3339)}, nil
}

// boolean is a boolean column shown by default.
func boolean(name, description string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: "boolean", Description: description}
}
