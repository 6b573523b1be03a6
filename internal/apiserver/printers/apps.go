package printers

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// appsPrinter returns the printer of a kind in the apps group.
func appsPrinter(kind string) (Printer, bool) {
	switch kind {
	case "Deployment":
		return deploymentPrinter(), true
	case "ReplicaSet":
		return replicaSetPrinter(), true
	case "StatefulSet":
		return statefulSetPrinter(), true
	case "DaemonSet":
		return daemonSetPrinter(), true
	case "ControllerRevision":
		return controllerRevisionPrinter(), true
	}
	return Printer{}, false
}

func deploymentPrinter() Printer {
	status := appsv1.DeploymentStatus{}.SwaggerDoc()
	return Printer{
		Columns: columns(cols(nameColumn(),
			str("Ready", "Number of the pod with ready state"),
			str("Up-to-date", status["updatedReplicas"]),
			str("Available", status["availableReplicas"]),
			ageColumn()), templateColumns(appsv1.DeploymentSpec{}.SwaggerDoc()["selector"])),
		Cells: simpleCells(func(d *appsv1.Deployment, now time.Time) []interface{} {
			cells := []interface{}{d.Name, fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, deref(d.Spec.Replicas)),
				int64(d.Status.UpdatedReplicas), int64(d.Status.AvailableReplicas), age(d.CreationTimestamp, now)}
			return withTemplate(cells, d.Spec.Template.Spec, deploymentSelector(d.Spec.Selector))
		}),
	}
}

// deploymentSelector renders a selector in label-query syntax, or <invalid>.
func deploymentSelector(s *metav1.LabelSelector) *string {
	sel, err := metav1.LabelSelectorAsSelector(s)
	text := "<invalid>"
	if err == nil {
		text = sel.String()
	}
	return &text
}

func replicaSetPrinter() Printer {
	spec, status := appsv1.ReplicaSetSpec{}.SwaggerDoc(), appsv1.ReplicaSetStatus{}.SwaggerDoc()
	return Printer{
		Columns: columns(cols(nameColumn(),
			integer("Desired", spec["replicas"]),
			integer("Current", status["replicas"]),
			integer("Ready", status["readyReplicas"]),
			ageColumn()), templateColumns(spec["selector"])),
		Cells: simpleCells(func(rs *appsv1.ReplicaSet, now time.Time) []interface{} {
			cells := []interface{}{rs.Name, deref(rs.Spec.Replicas), int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas), age(rs.CreationTimestamp, now)}
			return withTemplate(cells, rs.Spec.Template.Spec, selectorString(rs.Spec.Selector))
		}),
	}
}

func statefulSetPrinter() Printer {
	return Printer{
		Columns: columns(cols(nameColumn(), str("Ready", "Number of the pod with ready state"), ageColumn()), templateColumns("")),
		Cells: simpleCells(func(ss *appsv1.StatefulSet, now time.Time) []interface{} {
			cells := []interface{}{ss.Name, fmt.Sprintf("%d/%d", ss.Status.ReadyReplicas, deref(ss.Spec.Replicas)), age(ss.CreationTimestamp, now)}
			return withTemplate(cells, ss.Spec.Template.Spec, nil)
		}),
	}
}

func daemonSetPrinter() Printer {
	status := appsv1.DaemonSetStatus{}.SwaggerDoc()
	return Printer{
		Columns: columns(cols(nameColumn(),
			integer("Desired", status["desiredNumberScheduled"]),
			integer("Current", status["currentNumberScheduled"]),
			integer("Ready", status["numberReady"]),
			integer("Up-to-date", status["updatedNumberScheduled"]),
			integer("Available", status["numberAvailable"]),
			str("Node Selector", corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
			ageColumn()), templateColumns(appsv1.DaemonSetSpec{}.SwaggerDoc()["selector"])),
		Cells: simpleCells(daemonSetCells),
	}
}

func daemonSetCells(ds *appsv1.DaemonSet, now time.Time) []interface{} {
	st := ds.Status
	cells := []interface{}{ds.Name, int64(st.DesiredNumberScheduled), int64(st.CurrentNumberScheduled), int64(st.NumberReady),
		int64(st.UpdatedNumberScheduled), int64(st.NumberAvailable), labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector), age(ds.CreationTimestamp, now)}
	return withTemplate(cells, ds.Spec.Template.Spec, selectorString(ds.Spec.Selector))
}

func controllerRevisionPrinter() Printer {
	return Printer{
		Columns: cols(nameColumn(),
			str("Controller", "Controller of the object"),
			str("Revision", appsv1.ControllerRevision{}.SwaggerDoc()["revision"]),
			ageColumn()),
		Cells: cellsOf(func(cr *appsv1.ControllerRevision, now time.Time) ([]interface{}, error) {
			controller, err := controllerName(cr)
			if err != nil {
				return nil, err
			}
			return []interface{}{cr.Name, controller, cr.Revision, age(cr.CreationTimestamp, now)}, nil
		}),
	}
}

// controllerName is "kind.group/name" (lower-case kind) of the object's controller, or <none>.
func controllerName(obj metav1.Object) (string, error) {
	ref := metav1.GetControllerOfNoCopy(obj)
	if ref == nil {
		return none, nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return "", fmt.Errorf("controller of %s: %w", obj.GetName(), err)
	}
	gk := gv.WithKind(ref.Kind).GroupKind()
	if gk.Empty() {
		return ref.Name, nil
	}
	return strings.ToLower(gk.String()) + "/" + ref.Name, nil
}
