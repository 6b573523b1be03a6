package apiserver

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// defaultTable is upstream's table for kinds without their own columns: Name and Created At.
func defaultTable(gk schema.GroupKind, objs []runtime.Object, now time.Time, includeObject string, noHeaders bool) (*metav1.Table, error) {
	t := &metav1.Table{TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}}
	if !noHeaders {
		t.ColumnDefinitions = []metav1.TableColumnDefinition{
			{Name: "Name", Type: "string", Format: "name", Description: "Name must be unique within a namespace."},
			{Name: "Created At", Type: "date", Description: "CreationTimestamp is a timestamp representing the server time when this object was created."},
		}
	}
	t.Rows = []metav1.TableRow{}
	for _, obj := range objs {
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil, err
		}
		row := metav1.TableRow{Cells: []interface{}{m.GetName(), m.GetCreationTimestamp().UTC().Format(time.RFC3339)}}
		switch includeObject {
		case "Object":
			row.Object.Object = obj
		case "None":
		default:
			pom := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/v1"}}
			if oma, ok := obj.(metav1.ObjectMetaAccessor); ok {
				if om, ok := oma.GetObjectMeta().(*metav1.ObjectMeta); ok {
					om.DeepCopyInto(&pom.ObjectMeta)
				}
			}
			row.Object.Object = pom
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}
