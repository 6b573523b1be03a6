package printers

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// eventsPrinter returns the printer of a kind in the events.k8s.io group, whose Event is
// the core Event seen through other field names, printed the same way.
func eventsPrinter(kind string) (Printer, bool) {
	if kind != "Event" {
		return Printer{}, false
	}
	return eventPrinter(simpleCells(func(e *eventsv1.Event, now time.Time) []interface{} {
		return coreEventCells(coreEvent(e), now)
	})), true
}

func eventPrinter(cells func(runtime.Object, time.Time) ([]interface{}, error)) Printer {
	doc := corev1.Event{}.SwaggerDoc()
	return Printer{
		Columns: cols(
			str("Last Seen", doc["lastTimestamp"]),
			str("Type", doc["type"]),
			str("Reason", doc["reason"]),
			str("Object", doc["involvedObject"]),
			wide(str("Subobject", corev1.ObjectReference{}.SwaggerDoc()["fieldPath"])),
			wide(str("Source", doc["source"])),
			str("Message", doc["message"]),
			wide(str("First Seen", doc["firstTimestamp"])),
			wide(str("Count", doc["count"])),
			wide(nameColumn()),
		),
		Cells: cells,
	}
}

func coreEventCells(e *corev1.Event, now time.Time) []interface{} {
	first := age(e.FirstTimestamp, now)
	if e.FirstTimestamp.IsZero() {
		first = microAge(e.EventTime, now)
	}
	last := age(e.LastTimestamp, now)
	if e.LastTimestamp.IsZero() {
		last = first
	}
	count := e.Count
	if e.Series != nil {
		last, count = microAge(e.Series.LastObservedTime, now), e.Series.Count
	} else if count == 0 {
		count = 1 // events of the new API that happened once carry no count
	}
	return []interface{}{last, e.Type, e.Reason, eventTarget(e.InvolvedObject), e.InvolvedObject.FieldPath,
		eventSource(e), strings.TrimSpace(e.Message), first, int64(count), e.Name}
}

// eventTarget is "kind/name" of the object the event is about, the kind in lower case.
func eventTarget(ref corev1.ObjectReference) string {
	if ref.Name == "" {
		return strings.ToLower(ref.Kind)
	}
	return fmt.Sprintf("%s/%s", strings.ToLower(ref.Kind), ref.Name)
}

// eventSource is "component, host", falling back to the reporting controller and instance.
func eventSource(e *corev1.Event) string {
	component := firstNonEmpty(e.Source.Component, e.ReportingController)
	host := firstNonEmpty(e.Source.Host, e.ReportingInstance)
	if host == "" {
		return component
	}
	return component + ", " + host
}

// coreEvent maps an events.k8s.io/v1 Event onto the core Event fields it stands for.
func coreEvent(e *eventsv1.Event) *corev1.Event {
	ce := &corev1.Event{
		ObjectMeta:          e.ObjectMeta,
		InvolvedObject:      e.Regarding,
		Reason:              e.Reason,
		Message:             e.Note,
		Source:              e.DeprecatedSource,
		FirstTimestamp:      e.DeprecatedFirstTimestamp,
		LastTimestamp:       e.DeprecatedLastTimestamp,
		Count:               e.DeprecatedCount,
		Type:                e.Type,
		EventTime:           e.EventTime,
		Action:              e.Action,
		Related:             e.Related,
		ReportingController: e.ReportingController,
		ReportingInstance:   e.ReportingInstance,
	}
	if e.Series != nil {
		ce.Series = &corev1.EventSeries{Count: e.Series.Count, LastObservedTime: e.Series.LastObservedTime}
	}
	return ce
}
