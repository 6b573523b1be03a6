package openapi

// param is one non-body parameter of an operation.
type param struct {
	name        string
	in          string // query or path
	typ         string // string, boolean or integer
	description string
	required    bool
	unique      bool
}

var (
	paramName      = param{name: "name", in: "path", typ: "string", required: true, unique: true, description: "name of the object"}
	paramNamespace = param{name: "namespace", in: "path", typ: "string", required: true, unique: true, description: "object name and auth scope, such as for teams and projects"}
	paramPretty    = param{name: "pretty", in: "query", typ: "string", unique: true, description: "If 'true', then the output is pretty printed."}

	paramDryRun = param{name: "dryRun", in: "query", typ: "string", unique: true,
		description: "When present, indicates that modifications should not be persisted. Valid value: All (process every stage of the request without persisting it)."}
	paramFieldManager = param{name: "fieldManager", in: "query", typ: "string", unique: true,
		description: "fieldManager is a name associated with the actor or entity that is making these changes. At most 128 printable characters."}
	paramFieldValidation = param{name: "fieldValidation", in: "query", typ: "string", unique: true,
		description: "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. " +
			"Valid values: Ignore (drop them silently), Warn (drop them and return a warning per field), Strict (fail the request with BadRequest)."}
	paramForce = param{name: "force", in: "query", typ: "boolean", unique: true,
		description: "Force re-acquires conflicting fields owned by other managers in an apply request. Must be unset for non-apply patches."}

	paramGracePeriod = param{name: "gracePeriodSeconds", in: "query", typ: "integer", unique: true,
		description: "The duration in seconds before the object should be deleted. Zero means delete immediately."}
	paramIgnoreStoreRead = param{name: "ignoreStoreReadErrorWithClusterBreakingPotential", in: "query", typ: "boolean", unique: true,
		description: "If true, a resource that cannot be read from storage is deleted anyway. Unsafe."}
	paramOrphan = param{name: "orphanDependents", in: "query", typ: "boolean", unique: true,
		description: "Deprecated: use propagationPolicy. Whether dependent objects should be orphaned."}
	paramPropagation = param{name: "propagationPolicy", in: "query", typ: "string", unique: true,
		description: "Whether and how garbage collection is performed: Orphan, Background or Foreground."}

	paramAllowBookmarks = param{name: "allowWatchBookmarks", in: "query", typ: "boolean", unique: true,
		description: "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."}
	paramContinue = param{name: "continue", in: "query", typ: "string", unique: true,
		description: "The continue token returned by a previous paged list call, to retrieve the next page."}
	paramFieldSelector = param{name: "fieldSelector", in: "query", typ: "string", unique: true,
		description: "A selector to restrict the list of returned objects by their fields. Defaults to everything."}
	paramLabelSelector = param{name: "labelSelector", in: "query", typ: "string", unique: true,
		description: "A selector to restrict the list of returned objects by their labels. Defaults to everything."}
	paramLimit = param{name: "limit", in: "query", typ: "integer", unique: true,
		description: "limit is the maximum number of responses to return for a list call; more are available through continue."}
	paramResourceVersion = param{name: "resourceVersion", in: "query", typ: "string", unique: true,
		description: "resourceVersion sets a constraint on what resource versions a request may be served from. Defaults to unset."}
	paramResourceVersionMatch = param{name: "resourceVersionMatch", in: "query", typ: "string", unique: true,
		description: "resourceVersionMatch determines how resourceVersion is applied to list calls (Exact or NotOlderThan)."}
	paramSendInitialEvents = param{name: "sendInitialEvents", in: "query", typ: "boolean", unique: true,
		description: "sendInitialEvents=true may be set together with watch=true to begin the watch stream with synthetic ADDED events for the current state."}
	paramTimeoutSeconds = param{name: "timeoutSeconds", in: "query", typ: "integer", unique: true,
		description: "Timeout for the list/watch call, regardless of any activity or inactivity."}
	paramWatch = param{name: "watch", in: "query", typ: "boolean", unique: true,
		description: "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."}
)

// writeParams are declared by every create, update and patch operation;
// kubectl looks for fieldValidation to decide on server-side validation.
var writeParams = []param{paramDryRun, paramFieldManager, paramFieldValidation}

var patchParams = []param{paramDryRun, paramFieldManager, paramFieldValidation, paramForce}

var deleteParams = []param{paramDryRun, paramGracePeriod, paramIgnoreStoreRead, paramOrphan, paramPropagation}

var listParams = []param{
	paramAllowBookmarks, paramContinue, paramFieldSelector, paramLabelSelector, paramLimit,
	paramResourceVersion, paramResourceVersionMatch, paramSendInitialEvents, paramTimeoutSeconds, paramWatch,
}

var deleteCollectionParams = []param{
	paramContinue, paramDryRun, paramFieldSelector, paramGracePeriod, paramIgnoreStoreRead, paramLabelSelector,
	paramLimit, paramOrphan, paramPropagation, paramResourceVersion, paramResourceVersionMatch,
	paramSendInitialEvents, paramTimeoutSeconds,
}

var logParams = []param{
	{name: "container", in: "query", typ: "string", unique: true, description: "The container for which to stream logs. Defaults to only container if there is one container in the pod."},
	{name: "follow", in: "query", typ: "boolean", unique: true, description: "Follow the log stream of the pod."},
	{name: "limitBytes", in: "query", typ: "integer", unique: true, description: "If set, the number of bytes to read from the server before terminating the log output."},
	{name: "previous", in: "query", typ: "boolean", unique: true, description: "Return previous terminated container logs."},
	{name: "sinceSeconds", in: "query", typ: "integer", unique: true, description: "A relative time in seconds before the current time from which to show logs."},
	{name: "tailLines", in: "query", typ: "integer", unique: true, description: "If set, the number of lines from the end of the logs to show."},
	{name: "timestamps", in: "query", typ: "boolean", unique: true, description: "If true, add an RFC3339 timestamp at the beginning of every line of log output."},
}
