package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Length limits of an event's free-text fields.
const (
	reportingInstanceLimit = 128
	actionLimit            = 128
	reasonLimit            = 128
	noteLimit              = 1024
)

// coreEventRules validates core/v1 Events leniently, as upstream does for
// that API version: namespaces must agree, and events that carry an eventTime
// must name their reporter, action and reason.
func coreEventRules() rules[*corev1.Event] {
	return rules[*corev1.Event]{namespaced: true, validate: validateCoreEvent}
}

func validateCoreEvent(e *corev1.Event) field.ErrorList {
	var errs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	mismatch := field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace")
	if e.EventTime.IsZero() {
		if e.InvolvedObject.Namespace == "" && e.Namespace != metav1.NamespaceNone && e.Namespace != metav1.NamespaceDefault {
			errs = append(errs, mismatch)
		}
		if e.InvolvedObject.Namespace != "" && e.Namespace != e.InvolvedObject.Namespace {
			errs = append(errs, mismatch)
		}
		return errs
	}
	if e.InvolvedObject.Namespace == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
		errs = append(errs, mismatch)
	}
	errs = append(errs, validateEventReporter(eventReport{
		controllerPath: field.NewPath("reportingComponent"), controller: e.ReportingController,
		instance: e.ReportingInstance, action: e.Action, reason: e.Reason,
		notePath: field.NewPath("message"), note: e.Message,
	})...)
	return errs
}

// eventReport holds the fields both Event APIs check the same way.
type eventReport struct {
	controllerPath, notePath                   *field.Path
	controller, instance, action, reason, note string
}

func validateEventReporter(r eventReport) field.ErrorList {
	var errs field.ErrorList
	if r.controller == "" {
		errs = append(errs, field.Required(r.controllerPath, ""))
	}
	errs = append(errs, qualifiedName(r.controller, r.controllerPath)...)
	errs = append(errs, requiredMax(r.instance, reportingInstanceLimit, field.NewPath("reportingInstance"))...)
	errs = append(errs, requiredMax(r.action, actionLimit, field.NewPath("action"))...)
	errs = append(errs, requiredMax(r.reason, reasonLimit, field.NewPath("reason"))...)
	if len(r.note) > noteLimit {
		errs = append(errs, field.Invalid(r.notePath, "", fmt.Sprintf("can have at most %v characters", noteLimit)))
	}
	return errs
}

func requiredMax(value string, limit int, path *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	if len(value) > limit {
		return field.ErrorList{field.Invalid(path, "", fmt.Sprintf("can have at most %v characters", limit))}
	}
	return nil
}

// eventsEventRules validates events.k8s.io/v1 Events strictly.
func eventsEventRules() rules[*eventsv1.Event] {
	return rules[*eventsv1.Event]{namespaced: true, validate: validateEventsEvent, update: validateEventsEventUpdate}
}

func validateEventsEvent(e *eventsv1.Event) field.ErrorList {
	var errs field.ErrorList
	if e.Regarding.Namespace == "" && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
		errs = append(errs, field.Invalid(field.NewPath("regarding", "namespace"), e.Regarding.Namespace, "does not match event.namespace"))
	}
	if e.Regarding.Namespace != "" && e.Regarding.Namespace != e.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("regarding", "namespace"), e.Regarding.Namespace, "does not match event.namespace"))
	}
	errs = append(errs, validateEventReporter(eventReport{
		controllerPath: field.NewPath("reportingController"), controller: e.ReportingController,
		instance: e.ReportingInstance, action: e.Action, reason: e.Reason,
		notePath: field.NewPath("note"), note: e.Note,
	})...)
	if e.EventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning {
		errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", e.Type)))
	}
	if s := e.Series; s != nil {
		if s.Count < 2 {
			errs = append(errs, field.Invalid(field.NewPath("series", "count"), "", "should be at least 2"))
		}
		if s.LastObservedTime.IsZero() {
			errs = append(errs, field.Required(field.NewPath("series", "lastObservedTime"), ""))
		}
	}
	return errs
}

func validateEventsEventUpdate(e, old *eventsv1.Event) field.ErrorList {
	errs := immutable(e.Regarding, old.Regarding, field.NewPath("regarding"))
	errs = append(errs, immutable(e.Related, old.Related, field.NewPath("related"))...)
	errs = append(errs, immutable(e.Reason, old.Reason, field.NewPath("reason"))...)
	errs = append(errs, immutable(e.Note, old.Note, field.NewPath("note"))...)
	errs = append(errs, immutable(e.Type, old.Type, field.NewPath("type"))...)
	errs = append(errs, immutable(e.Action, old.Action, field.NewPath("action"))...)
	errs = append(errs, immutable(e.EventTime, old.EventTime, field.NewPath("eventTime"))...)
	errs = append(errs, immutable(e.ReportingController, old.ReportingController, field.NewPath("reportingController"))...)
	errs = append(errs, immutable(e.ReportingInstance, old.ReportingInstance, field.NewPath("reportingInstance"))...)
	return errs
}
