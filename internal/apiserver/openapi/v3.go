package openapi

import (
	"encoding/json"
	"fmt"
	"strconv"

	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
)

// renderV3 renders the OpenAPI 3.0 document of one group-version: its
// paths and the definitions they reach.
func (s *Spec) renderV3(gv *groupVersion) ([]byte, error) {
	paths := obj{}
	for _, item := range gv.items {
		paths[item.path] = v3PathItem(item, gv.tag)
	}
	doc := obj{
		"openapi": "3.0.0",
		"info":    obj{"title": "Kubernetes", "version": s.version},
		"paths":   paths,
		"components": obj{
			"schemas": dialectV3.definitions(s.model, s.model.closure(gv.roots)),
			"securitySchemes": obj{"BearerToken": obj{
				"description": "Bearer Token authentication", "type": "apiKey", "name": "authorization", "in": "header",
			}},
		},
	}
	return json.Marshal(doc)
}

// v3Proto converts a JSON document into the gnostic protobuf form.
func v3Proto(doc []byte) ([]byte, error) {
	parsed, err := openapi_v3.ParseDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("parse openapi v3 document: %w", err)
	}
	return proto.Marshal(parsed)
}

func v3PathItem(item pathItem, tag string) obj {
	out := obj{}
	if len(item.params) > 0 {
		out["parameters"] = v3Params(item.params)
	}
	for _, op := range item.ops {
		out[op.method] = v3Operation(op, tag)
	}
	return out
}

func v3Params(params []param) []any {
	out := make([]any, 0, len(params))
	for _, p := range params {
		sch := obj{"type": p.typ}
		if p.unique {
			sch["uniqueItems"] = true
		}
		o := obj{"name": p.name, "in": p.in, "description": p.description, "schema": sch}
		if p.required {
			o["required"] = true
		}
		out = append(out, o)
	}
	return out
}

func v3Operation(op operation, tag string) obj {
	out := obj{
		"description":                     op.description,
		"operationId":                     op.id,
		"tags":                            []any{tag},
		"responses":                       v3Responses(op),
		"x-kubernetes-action":             op.action,
		"x-kubernetes-group-version-kind": gvkObject(op.gvk),
	}
	if len(op.params) > 0 {
		out["parameters"] = v3Params(op.params)
	}
	if op.body != "" {
		content := obj{}
		for _, ct := range consumes(op) {
			content[ct] = obj{"schema": dialectV3.ref(op.body)}
		}
		body := obj{"content": content}
		if op.bodyRequired {
			body["required"] = true
		}
		out["requestBody"] = body
	}
	return out
}

func v3Responses(op operation) obj {
	out := obj{"401": obj{"description": "Unauthorized"}}
	for _, r := range op.responses {
		sch := obj{"type": "string"}
		if r.ref != "" {
			sch = dialectV3.ref(r.ref)
		}
		content := obj{}
		for _, ct := range produces(op) {
			content[ct] = obj{"schema": sch}
		}
		out[strconv.Itoa(r.code)] = obj{"description": responseText[r.code], "content": content}
	}
	return out
}
