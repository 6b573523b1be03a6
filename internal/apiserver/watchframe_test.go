package apiserver

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Watch events are framed around the cached encoding as they are written; the bytes must be
// what client-go decodes: a JSON line, or the length-prefixed WatchEvent gogo-protobuf writes.
func TestEventFramesMatchTheEncoders(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 2 << 20} {
		obj := bytes.Repeat([]byte{'x'}, n)
		for _, typ := range []string{"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"} {
			var want bytes.Buffer
			if err := protobufRaw.Encode(&metav1.WatchEvent{Type: typ, Object: runtime.RawExtension{Raw: obj}}, &want); err != nil {
				t.Fatal(err)
			}
			frame := append(appendEventHeader(nil, typ, n, true), obj...)
			if got := binary.BigEndian.Uint32(frame); int(got) != want.Len() {
				t.Fatalf("protobuf %s/%d: frame length %d, message is %d bytes", typ, n, got, want.Len())
			}
			if !bytes.Equal(frame[4:], want.Bytes()) {
				t.Fatalf("protobuf %s/%d: frame body differs from the encoder's", typ, n)
			}

			jsonObj := []byte(`{"kind":"Pod","pad":"` + string(obj) + `"}`)
			line := append(append(appendEventHeader(nil, typ, len(jsonObj), false), jsonObj...), "}\n"...)
			var ev metav1.WatchEvent
			if err := json.Unmarshal(line, &ev); err != nil || ev.Type != typ || !bytes.Equal(ev.Object.Raw, jsonObj) {
				t.Fatalf("JSON %s/%d: %q decodes to %+v, %v", typ, n, line[:min(len(line), 80)], ev.Type, err)
			}
		}
	}
}
