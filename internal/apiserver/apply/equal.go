package apply

import (
	"reflect"
	"time"
)

// timeType is compared and sized without reading its *time.Location:
// time.Local is initialised lazily, and reading it then races.
var timeType = reflect.TypeFor[time.Time]()

// equal says a and b, two values of one type, hold the same data, as
// reflect.DeepEqual does for API objects, without its bookkeeping of
// visited pointers (API objects are trees, not graphs) and comparing the
// common string maps natively. Unexported fields count (a quantity's
// cached string too); a nil slice or map differs from an empty one;
// functions, channels and unsafe pointers are equal only when both are
// nil; floats compare with ==; times in two distinct *time.Location count
// as different however alike (see timeType), which only makes a caller
// look closer.
func equal(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	case reflect.Complex64, reflect.Complex128:
		return a.Complex() == b.Complex()
	case reflect.String:
		return a.String() == b.String()
	case reflect.Pointer, reflect.Interface:
		return equalRefs(a, b)
	case reflect.Slice:
		return a.IsNil() == b.IsNil() && equalItems(a, b)
	case reflect.Array:
		return equalItems(a, b)
	case reflect.Map:
		return equalMaps(a, b)
	case reflect.Struct:
		if a.Type() == timeType {
			return sameInstant(a, b)
		}
		for i := range a.NumField() {
			if !equal(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return a.IsNil() && b.IsNil() // func, chan, unsafe pointer
}

// sameInstant compares two time.Time values field by field as equal does,
// except that their locations must be the same pointer: two different
// *time.Location count as different, which only makes the caller look
// closer (see timeType).
func sameInstant(a, b reflect.Value) bool {
	for i := range a.NumField() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Kind() == reflect.Pointer {
			if fa.Pointer() != fb.Pointer() {
				return false
			}
		} else if !equal(fa, fb) {
			return false
		}
	}
	return true
}

// equalRefs compares pointers or interfaces by what they refer to.
func equalRefs(a, b reflect.Value) bool {
	switch {
	case a.IsNil() || b.IsNil():
		return a.IsNil() && b.IsNil()
	case a.Kind() == reflect.Interface && a.Elem().Type() != b.Elem().Type():
		return false
	case a.Kind() == reflect.Pointer && a.Pointer() == b.Pointer():
		return true
	}
	return equal(a.Elem(), b.Elem())
}

func equalItems(a, b reflect.Value) bool {
	if a.Len() != b.Len() {
		return false
	}
	for i := range a.Len() {
		if !equal(a.Index(i), b.Index(i)) {
			return false
		}
	}
	return true
}

func equalMaps(a, b reflect.Value) bool {
	if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
		return false
	}
	if a.CanInterface() {
		if am, ok := a.Interface().(map[string]string); ok {
			bm := b.Interface().(map[string]string)
			for k, v := range am {
				if w, ok := bm[k]; !ok || w != v {
					return false
				}
			}
			return true
		}
	}
	it := a.MapRange()
	for it.Next() {
		w := b.MapIndex(it.Key())
		if !w.IsValid() || !equal(it.Value(), w) {
			return false
		}
	}
	return true
}

// sizeOver says the strings, byte slices and items of v, a value of an
// API type, hold more than limit bytes (roughly: pointers and struct
// padding are not counted); it stops counting there.
func sizeOver(v reflect.Value, limit int) bool {
	n := 0
	return countSize(v, &n, limit)
}

func countSize(v reflect.Value, n *int, limit int) bool {
	switch v.Kind() {
	case reflect.String:
		*n += v.Len()
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return countSize(v.Elem(), n, limit)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			*n += v.Len()
			break
		}
		for i := 0; i < v.Len() && *n <= limit; i++ {
			countSize(v.Index(i), n, limit)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next() && *n <= limit; {
			countSize(it.Key(), n, limit)
			countSize(it.Value(), n, limit)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			*n += 24
			break
		}
		for i := 0; i < v.NumField() && *n <= limit; i++ {
			countSize(v.Field(i), n, limit)
		}
	default:
		*n += 8
	}
	return *n > limit
}
