package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// output says how a response body is encoded.
type output struct {
	yaml          bool
	protobuf      bool
	table         bool
	includeObject string
	metadata      bool // PartialObjectMetadata(List) instead of the objects
}

// negotiate picks the response encoding from the Accept header. Table is only chosen where the
// client asks for it and the verb can produce one.
func negotiate(r *http.Request) (output, error) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return output{}, nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/json", "application/*", "*/*":
			if params["as"] == "Table" {
				if params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
					continue
				}
				inc := r.URL.Query().Get("includeObject")
				if inc == "" {
					inc = "Metadata"
				}
				return output{table: true, includeObject: inc}, nil
			}
			if isMetaAs(params) {
				return output{metadata: true}, nil
			}
			if params["as"] != "" {
				continue
			}
			return output{}, nil
		case "application/yaml":
			if params["as"] == "" {
				return output{yaml: true}, nil
			}
		case runtime.ContentTypeProtobuf:
			if params["as"] == "" || isMetaAs(params) {
				return output{protobuf: true, metadata: params["as"] != ""}, nil
			}
		}
	}
	return output{}, apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "", "only application/json, application/yaml and application/vnd.kubernetes.protobuf responses are served", 0, false)
}

// writeObject writes obj with the status code in the negotiated encoding.
func writeObject(w http.ResponseWriter, code int, obj any, out output) {
	var body []byte
	var err error
	if ro, ok := obj.(runtime.Object); ok && out.protobuf {
		w.Header().Set("Content-Type", runtime.ContentTypeProtobuf)
		if out.metadata {
			body, err = encodeMetaProtobuf(ro)
		} else {
			body, err = encodeProtobuf(ro)
		}
	} else if out.yaml {
		w.Header().Set("Content-Type", "application/yaml")
		body, err = yaml.Marshal(obj)
	} else {
		w.Header().Set("Content-Type", "application/json")
		body, err = json.Marshal(obj)
	}
	if err != nil {
		writeError(w, apierrors.NewInternalError(fmt.Errorf("encode response: %w", err)))
		return
	}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// protobufSerializer encodes and decodes the built-in kinds' protobuf, with upstream's envelope;
// protobufRaw is the envelope-less form used for watch event frames. Both are stateless.
var (
	protobufSerializer = protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	protobufRaw        = protobuf.NewRawSerializer(scheme.Scheme, scheme.Scheme)
)

func encodeProtobuf(obj runtime.Object) ([]byte, error) { return encodeWith(protobufSerializer, obj) }

// encodeWith encodes obj with the given serializer.
func encodeWith(e runtime.Encoder, obj runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	if err := e.Encode(obj, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeError writes err as a metav1.Status with the upstream reason and code. Errors that are not
// API errors become 500 InternalError.
func writeError(w http.ResponseWriter, err error) {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		slog.Error("internal error", "err", err)
		status = apierrors.NewInternalError(err)
	}
	s := status.Status()
	s.Kind, s.APIVersion = "Status", "v1"
	s.Status = metav1.StatusFailure
	code := int(s.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	body, _ := json.Marshal(s)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// successStatus is DELETE's answer for resources that do not return the deleted object.
func successStatus(res *resource, obj metav1.Object) *metav1.Status {
	return &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusSuccess,
		Details: &metav1.StatusDetails{
			Name: obj.GetName(), Group: res.gvk.Group, Kind: res.plural, UID: obj.GetUID(),
		},
	}
}
