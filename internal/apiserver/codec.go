package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	serjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
)

// codec turns request bodies and stored values into typed objects and back.
type codec struct {
	scheme     *runtime.Scheme
	jsonStrict *serjson.Serializer
	yamlStrict *serjson.Serializer
	stored     *serjson.Serializer
	protobuf   *protobuf.Serializer
}

func newCodec() *codec {
	s := scheme.Scheme
	return &codec{
		scheme:     s,
		jsonStrict: serjson.NewSerializerWithOptions(serjson.DefaultMetaFactory, s, s, serjson.SerializerOptions{Strict: true}),
		yamlStrict: serjson.NewSerializerWithOptions(serjson.DefaultMetaFactory, s, s, serjson.SerializerOptions{Yaml: true, Strict: true}),
		stored:     serjson.NewSerializerWithOptions(serjson.DefaultMetaFactory, s, s, serjson.SerializerOptions{}),
		protobuf:   protobuf.NewSerializer(s, s),
	}
}

func (c *codec) new(gvk schema.GroupVersionKind) runtime.Object {
	obj, err := c.scheme.New(gvk)
	if err != nil {
		panic(fmt.Sprintf("kind %v is served but not registered: %v", gvk, err))
	}
	return obj
}

// decodeBody decodes a request body as the kind want. Unknown and duplicate fields are handled as
// fieldValidation says: Strict fails, Warn (the default) returns them as warnings, Ignore drops them.
func (c *codec) decodeBody(body []byte, contentType string, want schema.GroupVersionKind, validation string) (runtime.Object, []string, error) {
	var ser runtime.Decoder = c.jsonStrict
	switch mediaType(contentType) {
	case "application/json", "":
	case "application/yaml":
		ser = c.yamlStrict
	case runtime.ContentTypeProtobuf:
		ser = c.protobuf
	default:
		return nil, nil, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", schema.GroupResource{}, "", fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf; got %q", contentType), 0, false)
	}
	obj, gvk, err := ser.Decode(body, &want, c.new(want))
	var warnings []string
	if err != nil {
		if !runtime.IsStrictDecodingError(err) {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml: %v", err))
		}
		warnings, err = strictResult(err, validation)
		if err != nil {
			return nil, nil, err
		}
	}
	if gvk.Kind != want.Kind || gvk.GroupVersion() != want.GroupVersion() {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", gvk.GroupVersion(), want.GroupVersion()))
	}
	return obj, warnings, nil
}

func strictResult(err error, validation string) ([]string, error) {
	var msgs []string
	if se, ok := runtime.AsStrictDecodingError(err); ok {
		for _, e := range se.Errors() {
			msgs = append(msgs, e.Error())
		}
	} else {
		msgs = []string{err.Error()}
	}
	switch validation {
	case "Strict":
		return nil, apierrors.NewBadRequest("strict decoding error: " + strings.Join(msgs, ", "))
	case "Ignore":
		return nil, nil
	}
	return msgs, nil
}

func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.TrimSpace(strings.ToLower(ct))
}

// decodeStored decodes a stored value and stamps it with the revision as resourceVersion.
func (c *codec) decodeStored(value []byte, want schema.GroupVersionKind, rev int64) (runtime.Object, error) {
	obj, _, err := c.stored.Decode(value, &want, c.new(want))
	if err != nil {
		return nil, err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion(fmt.Sprint(rev))
	return obj, nil
}

// encodeStored encodes obj for storage: with its apiVersion and kind, without resourceVersion.
func (c *codec) encodeStored(obj runtime.Object, gvk schema.GroupVersionKind) ([]byte, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	rv := m.GetResourceVersion()
	m.SetResourceVersion("")
	defer m.SetResourceVersion(rv)
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return json.Marshal(obj)
}

// encode is the response encoding of an object (apiVersion and kind set).
func encode(obj runtime.Object) ([]byte, error) { return json.Marshal(obj) }

// decodeOptions decodes a body holding an options or subresource object (DeleteOptions, Scale)
// in any served encoding into into; its kind is not checked against a resource.
func (c *codec) decodeOptions(body []byte, contentType string, into runtime.Object) error {
	var dec runtime.Decoder = c.stored
	switch mediaType(contentType) {
	case "application/json", "":
	case "application/yaml":
		dec = c.yamlStrict
	case runtime.ContentTypeProtobuf:
		dec = c.protobuf
	default:
		return apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", schema.GroupResource{}, "", fmt.Sprintf("unsupported media type %q", contentType), 0, false)
	}
	if _, _, err := dec.Decode(body, nil, into); err != nil && !runtime.IsStrictDecodingError(err) {
		return apierrors.NewBadRequest(fmt.Sprintf("decode %T: %v", into, err))
	}
	return nil
}
