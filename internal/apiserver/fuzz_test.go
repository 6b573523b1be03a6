package apiserver

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// FuzzDecodeBody feeds arbitrary bodies in every accepted media type to the request decoder: it
// must never panic, and whatever it accepts is the kind the URL names.
func FuzzDecodeBody(f *testing.F) {
	c := newCodec()
	pb, _ := encodeProtobuf(&corev1.ConfigMap{TypeMeta: metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "x"}})
	seeds := []struct {
		ct   string
		body []byte
	}{
		{"application/json", []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"v"}}`)},
		{"application/json", []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"v"},"data":{}}`)},
		{"application/yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")},
		{"application/vnd.kubernetes.protobuf", pb},
		{"application/json", []byte(`{"kind":"Secret"}`)},
		{"application/json", []byte(`[`)},
	}
	for _, s := range seeds {
		f.Add(s.ct, s.body)
	}
	want := core.WithKind("ConfigMap")
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		for _, mode := range []string{"Strict", "Warn", "Ignore"} {
			obj, _, err := c.decodeBody(body, ct, want, mode)
			if err != nil {
				continue
			}
			if _, ok := obj.(*corev1.ConfigMap); !ok {
				t.Fatalf("decoded %T for a ConfigMap URL", obj)
			}
		}
	})
}

// FuzzContinueToken: arbitrary continue tokens are rejected cleanly or name a key under the list.
func FuzzContinueToken(f *testing.F) {
	f.Add(encodeContinue(12, "ns/name\x00"))
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := decodeContinue(tok)
		if err == nil && got.Revision <= 0 {
			t.Fatalf("accepted token with revision %d", got.Revision)
		}
	})
}

// FuzzPatch applies arbitrary patches of each type to a stored object: no panics.
func FuzzPatch(f *testing.F) {
	s := &Server{codec: newCodec()}
	cur := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x"}]}}`)
	f.Add(string(types.JSONPatchType), []byte(`[{"op":"add","path":"/metadata/labels","value":{"a":"b"}}]`))
	f.Add(string(types.MergePatchType), []byte(`{"metadata":{"labels":null}}`))
	f.Add(string(types.StrategicMergePatchType), []byte(`{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}`))
	f.Fuzz(func(t *testing.T, pt string, patch []byte) {
		_, _ = s.applyPatchJSON(types.PatchType(pt), cur, patch, &corev1.Pod{})
	})
}
