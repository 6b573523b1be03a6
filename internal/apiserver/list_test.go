package apiserver_test

import (
	"fmt"
	eventsv1 "k8s.io/api/events/v1"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLabelAndFieldSelectors(t *testing.T) {
	ns := namespace(t)
	pods := cluster.Client.CoreV1().Pods(ns)
	for _, p := range []*corev1.Pod{
		pod("a").node("n1").labels("app", "web").obj(),
		pod("b").node("n2").labels("app", "web").obj(),
		pod("c").node("n1").labels("app", "db").obj(),
		pod("d").labels("app", "db").obj(),
	} {
		if _, err := pods.Create(ctx(t), p, createOpts); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name           string
		labels, fields string
		want           []string
	}{
		{"label equality", "app=web", "", []string{"a", "b"}},
		{"label set", "app in (db)", "", []string{"c", "d"}},
		{"node name", "", "spec.nodeName=n1", []string{"a", "c"}},
		{"unscheduled", "", "spec.nodeName=", []string{"d"}},
		{"both", "app=db", "spec.nodeName=n1", []string{"c"}},
		{"metadata.name", "", "metadata.name=b", []string{"b"}},
		{"phase", "", "status.phase=Pending", []string{"a", "b", "c", "d"}},
		{"scheduler", "", "spec.schedulerName!=other", []string{"a", "b", "c", "d"}},
		{"not equal", "", "metadata.name!=a", []string{"b", "c", "d"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			list, err := pods.List(ctx(t), metav1.ListOptions{LabelSelector: tc.labels, FieldSelector: tc.fields})
			if err != nil {
				t.Fatal(err)
			}
			if got := podNames(list.Items); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	_, err := pods.List(ctx(t), metav1.ListOptions{FieldSelector: "spec.bogus=x"})
	if !apierrors.IsBadRequest(err) {
		t.Fatalf("unsupported field: want BadRequest, got %v", err)
	}
	_, err = pods.List(ctx(t), metav1.ListOptions{LabelSelector: "a in (b"})
	if !apierrors.IsBadRequest(err) {
		t.Fatalf("malformed label selector: want BadRequest, got %v", err)
	}
}

func TestEventFieldSelectors(t *testing.T) {
	ns := namespace(t)
	events := cluster.Client.CoreV1().Events(ns)
	for i, kind := range []string{"Pod", "Node", "Pod"} {
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("e%d", i)},
			InvolvedObject: corev1.ObjectReference{Kind: kind, Name: fmt.Sprintf("obj%d", i), Namespace: ns},
			Reason:         "Test", Message: "m", Type: "Normal",
		}
		if _, err := events.Create(ctx(t), ev, createOpts); err != nil {
			t.Fatal(err)
		}
	}
	list, err := events.List(ctx(t), metav1.ListOptions{FieldSelector: "involvedObject.kind=Pod,involvedObject.name=obj2"})
	if err != nil || len(list.Items) != 1 || list.Items[0].Name != "e2" {
		t.Fatalf("got %v, %v; want e2", list, err)
	}
}

func TestPaginationIsConsistent(t *testing.T) {
	ns := namespace(t)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	for i := 0; i < 25; i++ {
		if _, err := cms.Create(ctx(t), cm(fmt.Sprintf("c%02d", i), nil), createOpts); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	opts := metav1.ListOptions{Limit: 10}
	pages := 0
	for {
		list, err := cms.List(ctx(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range list.Items {
			names = append(names, c.Name)
		}
		if pages == 1 {
			// Written after the first page: not part of the paginated snapshot.
			if _, err := cms.Create(ctx(t), cm("c00a-late", nil), createOpts); err != nil {
				t.Fatal(err)
			}
			if err := cms.Delete(ctx(t), "c24", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	if pages != 3 || len(names) != 25 || names[0] != "c00" || names[24] != "c24" {
		t.Fatalf("pages %d, names %v: want 3 pages of the 25 original objects", pages, names)
	}
	_, err := cms.List(ctx(t), metav1.ListOptions{Limit: 10, Continue: "garbage"})
	if !apierrors.IsBadRequest(err) {
		t.Fatalf("malformed continue: want BadRequest, got %v", err)
	}
}

func TestPaginationWithSelectorFillsPages(t *testing.T) {
	ns := namespace(t)
	cms := cluster.Client.CoreV1().ConfigMaps(ns)
	for i := 0; i < 30; i++ {
		c := cm(fmt.Sprintf("c%02d", i), nil)
		c.Labels = map[string]string{"even": fmt.Sprint(i%2 == 0)}
		if _, err := cms.Create(ctx(t), c, createOpts); err != nil {
			t.Fatal(err)
		}
	}
	list, err := cms.List(ctx(t), metav1.ListOptions{Limit: 4, LabelSelector: "even=true"})
	if err != nil || len(list.Items) != 4 || list.Continue == "" {
		t.Fatalf("first page: %d items, continue %q, %v", len(list.Items), list.Continue, err)
	}
	total := len(list.Items)
	for list.Continue != "" {
		list, err = cms.List(ctx(t), metav1.ListOptions{Limit: 4, LabelSelector: "even=true", Continue: list.Continue})
		if err != nil {
			t.Fatal(err)
		}
		total += len(list.Items)
	}
	if total != 15 {
		t.Fatalf("paged %d matching objects, want 15", total)
	}
}

func podNames(pods []corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestEventsAPIsShareStorage(t *testing.T) {
	ns := namespace(t)
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "new-api"},
		EventTime:  metav1.NowMicro(), Regarding: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: ns},
		Reason: "Started", Note: "started the container", Type: "Normal", Action: "Start",
		ReportingController: "klite/test", ReportingInstance: "test-1",
	}
	if _, err := cluster.Client.EventsV1().Events(ns).Create(ctx(t), ev, createOpts); err != nil {
		t.Fatal(err)
	}
	core, err := cluster.Client.CoreV1().Events(ns).Get(ctx(t), "new-api", metav1.GetOptions{})
	if err != nil || core.Message != "started the container" || core.InvolvedObject.Name != "p" || core.ReportingController != "klite/test" {
		t.Fatalf("core view of an events.k8s.io event: %+v %v", core, err)
	}
	list, err := cluster.Client.EventsV1().Events(ns).List(ctx(t), metav1.ListOptions{FieldSelector: "regarding.name=p"})
	if err != nil || len(list.Items) != 1 || list.Items[0].Note != "started the container" {
		t.Fatalf("events.k8s.io list: %+v %v", list, err)
	}
}
