package apply

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// maxFieldManagerLength is the longest field manager name upstream accepts.
const maxFieldManagerLength = 128

// ManagerName is the manager recorded for a write: the fieldManager query
// parameter, or else the User-Agent up to its first "/" (for example
// "kubectl" for "kubectl/v1.33.0 (linux/amd64) kubernetes/abc"), as upstream.
func ManagerName(fieldManager, userAgent string) string {
	if fieldManager != "" {
		return fieldManager
	}
	name, _, _ := strings.Cut(userAgent, "/")
	return name
}

// ValidateFieldManager checks a fieldManager query parameter: at most 128
// bytes, printable characters only.
func ValidateFieldManager(fieldManager string, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(fieldManager) > maxFieldManagerLength {
		errs = append(errs, field.TooLong(path, "", maxFieldManagerLength))
	}
	for _, r := range fieldManager {
		if !unicode.IsPrint(r) {
			errs = append(errs, field.Invalid(path, fieldManager, "must only contain printable characters"))
			break
		}
	}
	return errs
}

// ValidatePatchOptions checks the options of a PATCH request as upstream
// does: an apply patch needs a fieldManager, force is only for apply patches.
// The error is the 422 Invalid PatchOptions status upstream returns.
func ValidatePatchOptions(isApply bool, fieldManager string, force *bool) error {
	var errs field.ErrorList
	switch {
	case !isApply && force != nil:
		errs = append(errs, field.Forbidden(field.NewPath("force"), "may not be specified for non-apply patch"))
	case isApply && fieldManager == "":
		errs = append(errs, field.Required(field.NewPath("fieldManager"), "is required for apply patch"))
	}
	errs = append(errs, ValidateFieldManager(fieldManager, field.NewPath("fieldManager"))...)
	return optionsError("PatchOptions", errs)
}

// ValidateWriteOptions checks the fieldManager of a create or update
// request; kind is "CreateOptions" or "UpdateOptions".
func ValidateWriteOptions(kind, fieldManager string) error {
	return optionsError(kind, ValidateFieldManager(fieldManager, field.NewPath("fieldManager")))
}

func optionsError(kind string, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: kind}, "", errs)
}

// decodePatch decodes an apply patch, YAML or JSON, into an unstructured
// object; integers stay integers.
func decodePatch(patch []byte) (*unstructured.Unstructured, error) {
	js, err := yaml.YAMLToJSON(patch)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
	}
	obj := map[string]any{}
	if err := utiljson.Unmarshal(js, &obj); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

// applyError keeps API errors (conflicts, bad versions) and reports the
// rest as a bad request: they come from a patch that does not fit the schema.
func applyError(err error) error {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return err
	}
	return apierrors.NewBadRequest(err.Error())
}
