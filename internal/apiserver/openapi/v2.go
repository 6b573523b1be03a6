package openapi

import (
	"encoding/json"
	"fmt"
	"strconv"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
)

var responseText = map[int]string{200: "OK", 201: "Created", 202: "Accepted"}

// renderV2 renders the Swagger 2.0 document of every served resource.
func (s *Spec) renderV2() ([]byte, error) {
	paths := obj{}
	for _, gv := range s.groupVersions {
		for _, item := range gv.items {
			paths[item.path] = v2PathItem(item, gv.tag)
		}
	}
	doc := obj{
		"swagger":     "2.0",
		"info":        obj{"title": "Kubernetes", "version": s.version},
		"paths":       paths,
		"definitions": dialectV2.definitions(s.model, nil),
		"securityDefinitions": obj{"BearerToken": obj{
			"description": "Bearer Token authentication", "type": "apiKey", "name": "authorization", "in": "header",
		}},
		"security": []any{obj{"BearerToken": []any{}}},
	}
	return json.Marshal(doc)
}

// v2Proto converts the JSON document into the gnostic protobuf form that
// client-go's discovery client requests.
func v2Proto(doc []byte) ([]byte, error) {
	parsed, err := openapi_v2.ParseDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("parse openapi v2 document: %w", err)
	}
	return proto.Marshal(parsed)
}

func v2PathItem(item pathItem, tag string) obj {
	out := obj{}
	if len(item.params) > 0 {
		out["parameters"] = v2Params(item.params)
	}
	for _, op := range item.ops {
		out[op.method] = v2Operation(op, tag)
	}
	return out
}

func v2Params(params []param) []any {
	out := make([]any, 0, len(params))
	for _, p := range params {
		o := obj{"name": p.name, "in": p.in, "type": p.typ, "description": p.description}
		if p.unique {
			o["uniqueItems"] = true
		}
		if p.required {
			o["required"] = true
		}
		out = append(out, o)
	}
	return out
}

func v2Operation(op operation, tag string) obj {
	params := []any{}
	if op.body != "" {
		params = append(params, obj{"name": "body", "in": "body", "required": op.bodyRequired, "schema": dialectV2.ref(op.body)})
	}
	params = append(params, v2Params(op.params)...)
	responses := obj{"401": obj{"description": "Unauthorized"}}
	for _, r := range op.responses {
		resp := obj{"description": responseText[r.code]}
		if r.ref != "" {
			resp["schema"] = dialectV2.ref(r.ref)
		} else {
			resp["schema"] = obj{"type": "string"}
		}
		responses[strconv.Itoa(r.code)] = resp
	}
	out := obj{
		"description":                     op.description,
		"operationId":                     op.id,
		"tags":                            []any{tag},
		"schemes":                         []any{"https"},
		"consumes":                        stringsToAny(consumes(op)),
		"produces":                        stringsToAny(produces(op)),
		"responses":                       responses,
		"x-kubernetes-action":             op.action,
		"x-kubernetes-group-version-kind": gvkObject(op.gvk),
	}
	if len(params) > 0 {
		out["parameters"] = params
	}
	return out
}

func consumes(op operation) []string {
	if op.patch {
		return patchContentTypes
	}
	return []string{"*/*"}
}

func produces(op operation) []string {
	if op.produces != nil {
		return op.produces
	}
	return objectContentTypes
}

func stringsToAny(in []string) []any {
	out := make([]any, len(in))
	for i, s := range in {
		out[i] = s
	}
	return out
}
