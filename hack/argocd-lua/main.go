// Command argocd-lua runs Argo CD resource customization tests (health checks, action discovery
// and actions) with the Lua engine Argo CD itself uses, so that a script passes here only if
// Argo CD runs it the same way.
//
//	argocd-lua <group>/<Kind> [<group>/<Kind> ...]
//
// Each directory has Argo CD's resource_customizations layout:
//
//	health.lua, health_test.yaml  tests: [{inputPath, healthStatus: {status, message}}]
//	actions/discovery.lua, actions/<name>/action.lua
//	actions/action_test.yaml      discoveryTests: [{inputPath, result: [ResourceAction]}]
//	                              actionTests: [{action, inputPath, expectedOutputPath,
//	                                             expectedErrorMessage, parameters}]
//
// It prints `PASS|FAIL <dir> health <inputPath>`, `... discovery <inputPath>` and
// `... action <name> <inputPath>` lines (a failure adds `: <why>`), then `N passed, N failed`,
// and exits 1 when a test failed (2 on a usage error).
//
// The engine part re-implements, without importing argo-cd, what argo-cd v3.5.1 does in
// https://github.com/argoproj/argo-cd/blob/v3.5.1/util/lua/lua.go (VM.runLuaWithResourceActionParameters,
// VM.ExecuteHealthLua, VM.ExecuteResourceAction, VM.ExecuteResourceActionDiscovery,
// cleanReturnedObj, decodeValue) and util/lua/oslib_safe.go (OpenSafeOs, SafeOsLoader, osTime,
// osDate), with the libraries a script installed through argocd-cm gets without
// `useOpenLibs` (UseOpenLibs=false, the default; Argo CD's API server always runs actions and
// action discovery that way). The test part follows util/lua/health_test.go
// (TestLuaHealthScript) and util/lua/custom_actions_test.go (TestLuaResourceActionsScript),
// stricter where noted.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	luajson "layeh.com/gopher-json"
	"sigs.k8s.io/yaml"
)

// ---------------------------------------------------------------------------------------------
// The engine: argo-cd util/lua/lua.go and util/lua/oslib_safe.go.

const (
	// Argo CD cancels the VM's context after one second (context.WithTimeout in
	// runLuaWithResourceActionParameters); an endless loop fails with "context deadline exceeded".
	scriptTimeout = time.Second

	incorrectReturnType = "expect %s output from Lua script, not %s"
	invalidHealthStatus = "Lua returned an invalid health status"
)

// healthStatus is gitops-engine's health.HealthStatus, with the same JSON names.
type healthStatus struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

// validHealth is isValidHealthStatusCode.
var validHealth = map[string]bool{
	"Unknown": true, "Progressing": true, "Suspended": true, "Healthy": true, "Degraded": true, "Missing": true,
}

// runLua runs script the way runLuaWithResourceActionParameters does with UseOpenLibs=false:
// a state without the standard libraries, then package, base and table opened in that order,
// Argo CD's safe os opener (see openSafeOs), the safe os module preloaded for require("os"),
// a one-second context, the global `actionParams` (always a table) and the global `obj`.
// Runtime errors lose their stack trace, as in Argo CD. The caller reads the result with
// l.Get(-1), i.e. the last value the chunk returned.
func runLua(obj map[string]any, script string, params map[string]string) (*lua.LState, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openSafeOs},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			panic(err)
		}
	}
	l.PreloadModule(lua.OsLibName, safeOsLoader)

	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	l.SetContext(ctx)

	actionParams := l.CreateTable(0, len(params))
	for name, value := range params {
		actionParams.RawSetH(lua.LString(name), decodeValue(l, value))
	}
	l.SetGlobal("actionParams", actionParams)
	l.SetGlobal("obj", decodeValue(l, obj))

	fn, err := l.LoadString(script)
	if err == nil {
		l.Push(fn)
		err = l.PCall(0, lua.MultRet, nil)
	}
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) && apiErr.Type == lua.ApiErrorRun {
		apiErr.StackTrace = ""
	}
	return l, err
}

// decodeValue turns the object (as decoded from JSON or YAML) into Lua values like Argo CD's
// decodeValue: JSON null becomes nil, so a null map value is no key at all and a null array
// element is dropped (LTable.Append skips nil), which shifts the elements after it.
func decodeValue(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case json.Number:
		return lua.LString(v)
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(decodeValue(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for key, item := range v {
			t.RawSetH(lua.LString(key), decodeValue(l, item))
		}
		return t
	}
	return lua.LNil
}

// openSafeOs is OpenSafeOs. Argo CD registers the safe functions with
// RegisterModule(lua.TabLibName, ...): `table` is already loaded by then, so RegisterModule
// returns it unchanged. The net effect is that no global `os` exists (nor table.time or
// table.date); the safe os is reachable only through require("os"). Kept as Argo CD has it.
func openSafeOs(l *lua.LState) int {
	l.Push(l.RegisterModule(lua.TabLibName, safeOsFuncs))
	return 1
}

// safeOsLoader is SafeOsLoader, the package.preload entry behind require("os").
func safeOsLoader(l *lua.LState) int {
	l.Push(l.SetFuncs(l.NewTable(), safeOsFuncs))
	return 1
}

var safeOsFuncs = map[string]lua.LGFunction{"time": safeOsTime, "date": safeOsDate}

// safeOsTime is osTime: os.time() or os.time{year=, month=, day=, hour=12, min=0, sec=0} in
// local time; isdst is ignored and os.time(nil) is an error.
func safeOsTime(l *lua.LState) int {
	if l.GetTop() == 0 {
		l.Push(lua.LNumber(time.Now().Unix()))
		return 1
	}
	t := l.CheckTable(1)
	field := func(name string, def int) int {
		if n, ok := t.RawGetString(name).(lua.LNumber); ok {
			return int(n)
		}
		return def
	}
	at := time.Date(field("year", -1), time.Month(field("month", -1)), field("day", -1),
		field("hour", 12), field("min", 0), field("sec", 0), 0, time.Local)
	l.Push(lua.LNumber(at.Unix()))
	return 1
}

// safeOsDate is osDate: os.date([format [, time]]). A leading "!" selects UTC for the current
// time only (with a time argument the result is local time). "*t" gives a table whose yday is
// always 0 and isdst false. Other formats go through dateFormat.
func safeOsDate(l *lua.LState) int {
	t := time.Now()
	format := "%c"
	if l.GetTop() >= 1 {
		format = l.CheckString(1)
		if strings.HasPrefix(format, "!") {
			t = time.Now().UTC()
			format = strings.TrimLeft(format, "!")
		}
		if l.GetTop() >= 2 {
			t = time.Unix(l.CheckInt64(2), 0)
		}
		if strings.HasPrefix(format, "*t") {
			r := l.NewTable()
			r.RawSetString("year", lua.LNumber(t.Year()))
			r.RawSetString("month", lua.LNumber(t.Month()))
			r.RawSetString("day", lua.LNumber(t.Day()))
			r.RawSetString("hour", lua.LNumber(t.Hour()))
			r.RawSetString("min", lua.LNumber(t.Minute()))
			r.RawSetString("sec", lua.LNumber(t.Second()))
			r.RawSetString("wday", lua.LNumber(t.Weekday()+1))
			r.RawSetString("yday", lua.LNumber(0))
			r.RawSetString("isdst", lua.LFalse)
			l.Push(r)
			return 1
		}
	}
	l.Push(lua.LString(dateFormat(t, format)))
	return 1
}

// dateConversions is the table of strftime conversions oslib_safe.go supports, as Go layouts,
// quirks included: %a gives the literal "mon", %x the time, %c "02 Jan 06 15:04 MST".
// %w is the weekday number; "%%" is "%"; any other conversion stays as written ("%j" gives "%j").
var dateConversions = map[byte]string{
	'a': "mon", 'A': "Monday", 'b': "Jan", 'B': "January", 'c': "02 Jan 06 15:04 MST", 'd': "02",
	'F': "2006-01-02", 'H': "15", 'I': "03", 'm': "01", 'M': "04", 'p': "PM", 'P': "pm", 'S': "05",
	'x': "15/04/05", 'X': "15:04:05", 'y': "06", 'Y': "2006", 'z': "-0700", 'Z': "MST",
}

// dateFormat is strftime from oslib_safe.go: a "%" that ends the format stays a "%".
func dateFormat(t time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i == len(format)-1 {
			b.WriteByte(c)
			continue
		}
		i++
		switch conv := format[i]; {
		case conv == '%':
			b.WriteByte('%')
		case dateConversions[conv] != "":
			b.WriteString(t.Format(dateConversions[conv]))
		case conv == 'w':
			b.WriteString(strconv.Itoa(int(t.Weekday())))
		default:
			b.WriteByte('%')
			b.WriteByte(conv)
		}
	}
	return b.String()
}

// executeHealthLua is VM.ExecuteHealthLua. The returned table goes through gopher-json into
// HealthStatus. Argo CD tests the unmarshal error with errors.As against a
// *json.UnmarshalTypeError, which matches every type error, not only the "[]" of an empty
// table: a table whose status or message is not a string gives an empty status, no error. A
// status outside the six codes becomes Unknown "Lua returned an invalid health status"; nil
// (or no return value) gives an empty status; anything else is an error.
func executeHealthLua(obj map[string]any, script string) (*healthStatus, error) {
	l, err := runLua(obj, script, nil)
	if err != nil {
		return nil, err
	}
	ret := l.Get(-1)
	switch ret.Type() {
	case lua.LTTable:
		data, err := luajson.Encode(ret)
		if err != nil {
			return nil, err
		}
		h := &healthStatus{}
		if err := json.Unmarshal(data, h); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				return &healthStatus{}, nil
			}
			return nil, err
		}
		if !validHealth[h.Status] {
			return &healthStatus{Status: "Unknown", Message: invalidHealthStatus}, nil
		}
		return h, nil
	case lua.LTNil:
		return &healthStatus{}, nil
	}
	return nil, fmt.Errorf(incorrectReturnType, "table", ret.Type().String())
}

// impacted is ImpactedResource (util/lua/impacted_resource.go): an object and the operation
// Argo CD performs with it, "patch" or "create".
type impacted struct {
	Object    map[string]any
	Operation string
}

// decodeUnstructured is json.Unmarshal into *unstructured.Unstructured: any JSON object
// whose `kind` is a non-empty string.
func decodeUnstructured(data []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if kind, _ := m["kind"].(string); kind == "" {
		return nil, fmt.Errorf("Object 'Kind' is missing in '%s'", data)
	}
	return m, nil
}

// decodeImpacted is UnmarshalToImpactedResources with K8SOperation.UnmarshalJSON: a list of
// {operation, resource}; an operation other than "create" or "patch" is an error, a missing
// one stays "" (Argo CD's API server then silently skips the entry).
func decodeImpacted(data []byte) ([]impacted, error) {
	var raw []struct {
		Resource  json.RawMessage `json:"resource"`
		Operation json.RawMessage `json:"operation"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	var out []impacted
	for _, r := range raw {
		var item impacted
		if len(r.Resource) > 0 && string(r.Resource) != "null" {
			obj, err := decodeUnstructured(r.Resource)
			if err != nil {
				return nil, err
			}
			item.Object = obj
		}
		switch string(r.Operation) {
		case "":
		case `"create"`:
			item.Operation = "create"
		case `"patch"`:
			item.Operation = "patch"
		default:
			return nil, fmt.Errorf("unsupported operation: %s", r.Operation)
		}
		out = append(out, item)
	}
	return out, nil
}

// executeResourceAction is VM.ExecuteResourceAction. A JSON array is the new-style list of
// {operation, resource}; anything else is the old style, the modified object, which becomes
// one "patch". Every patched object goes through cleanReturnedObj against the input object.
func executeResourceAction(obj map[string]any, script string, params map[string]string) ([]impacted, error) {
	l, err := runLua(obj, script, params)
	if err != nil {
		return nil, err
	}
	ret := l.Get(-1)
	if ret.Type() != lua.LTTable {
		return nil, fmt.Errorf(incorrectReturnType, "table", ret.Type().String())
	}
	data, err := luajson.Encode(ret)
	if err != nil {
		return nil, err
	}
	if len(data) < 2 {
		return nil, errors.New("Lua output was not a valid json object or array")
	}
	var result []impacted
	if data[0] == '[' && data[len(data)-1] == ']' {
		if result, err = decodeImpacted(data); err != nil {
			return nil, err
		}
	} else {
		newObj, err := decodeUnstructured(data)
		if err != nil {
			return nil, err
		}
		result = []impacted{{Object: newObj, Operation: "patch"}}
	}
	for _, r := range result {
		if r.Operation == "patch" && r.Object != nil {
			cleanReturnedObj(r.Object, obj)
		}
	}
	return result, nil
}

// cleanReturnedObj: Lua cannot tell an empty object from an empty array and gopher-json
// encodes an empty table as []. Where the input object had an object and the result has an
// empty array, the empty object comes back; nested objects and arrays are walked the same way
// (array elements only as far as the input array reaches).
func cleanReturnedObj(newObj, oldObj map[string]any) map[string]any {
	for key, oldValue := range oldObj {
		newValue, ok := newObj[key]
		if !ok {
			continue
		}
		switch nv := newValue.(type) {
		case map[string]any:
			if ov, ok := oldValue.(map[string]any); ok {
				newObj[key] = cleanReturnedObj(nv, ov)
			}
		case []any:
			switch ov := oldValue.(type) {
			case map[string]any:
				if len(nv) == 0 {
					newObj[key] = map[string]any{}
				}
			case []any:
				newObj[key] = cleanReturnedArray(nv, ov)
			}
		}
	}
	return newObj
}

func cleanReturnedArray(newArr, oldArr []any) []any {
	for i := 0; i < len(newArr) && i < len(oldArr); i++ {
		switch nv := newArr[i].(type) {
		case map[string]any:
			if ov, ok := oldArr[i].(map[string]any); ok {
				newArr[i] = cleanReturnedObj(nv, ov)
			}
		case []any:
			if ov, ok := oldArr[i].([]any); ok {
				newArr[i] = cleanReturnedArray(nv, ov)
			}
		}
	}
	return newArr
}

// resourceAction is v1alpha1.ResourceAction with its JSON names.
type resourceAction struct {
	Name        string                `json:"name,omitempty"`
	Params      []resourceActionParam `json:"params,omitempty"`
	Disabled    bool                  `json:"disabled,omitempty"`
	IconClass   string                `json:"iconClass,omitempty"`
	DisplayName string                `json:"displayName,omitempty"`
}

type resourceActionParam struct {
	Name string `json:"name,omitempty"`
}

// executeResourceActionDiscovery is VM.ExecuteResourceActionDiscovery: each script returns a
// table of action name to definition. An empty table means no actions; a definition that
// encodes as a JSON array (an empty table) is an enabled action with no fields; otherwise the
// definition is unmarshalled over {name: <key>, disabled: <definition.disabled if boolean>},
// so a `name` field renames the action and a field of the wrong type is an error. The first
// script to define a name wins. Sorted by name here (Argo CD's order is a map's).
func executeResourceActionDiscovery(obj map[string]any, scripts []string) ([]resourceAction, error) {
	if len(scripts) == 0 {
		return nil, errors.New("no action discovery script provided")
	}
	found := map[string]resourceAction{}
	for _, script := range scripts {
		l, err := runLua(obj, script, nil)
		if err != nil {
			return nil, err
		}
		ret := l.Get(-1)
		if ret.Type() != lua.LTTable {
			return nil, fmt.Errorf(incorrectReturnType, "table", ret.Type().String())
		}
		data, err := luajson.Encode(ret)
		if err != nil {
			return nil, fmt.Errorf("error in converting to lua table: %w", err)
		}
		if string(data) == "[]" {
			continue
		}
		actions := map[string]any{}
		if err := json.Unmarshal(data, &actions); err != nil {
			return nil, fmt.Errorf("error unmarshaling action table: %w", err)
		}
		for name, def := range actions {
			if _, seen := found[name]; seen {
				continue
			}
			action := resourceAction{Name: name}
			if m, ok := def.(map[string]any); ok {
				if d, ok := m["disabled"].(bool); ok {
					action.Disabled = d
				}
			}
			if _, isArray := def.([]any); !isArray {
				encoded, err := json.Marshal(def)
				if err != nil {
					return nil, fmt.Errorf("error marshaling resource action: %w", err)
				}
				if err := json.Unmarshal(encoded, &action); err != nil {
					return nil, fmt.Errorf("error unmarshaling resource action: %w", err)
				}
			}
			found[name] = action
		}
	}
	out := make([]resourceAction, 0, len(found))
	for _, a := range found {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ---------------------------------------------------------------------------------------------
// The tests: health_test.go (TestLuaHealthScript), custom_actions_test.go
// (TestLuaResourceActionsScript).

type runner struct {
	out            io.Writer
	passed, failed int
}

func (r *runner) report(ok bool, name, detail string) {
	if ok {
		r.passed++
		fmt.Fprintf(r.out, "PASS %s\n", name)
		return
	}
	r.failed++
	if detail != "" {
		// One line per test: a multi-line error is folded.
		name += ": " + strings.ReplaceAll(detail, "\n", `\n`)
	}
	fmt.Fprintf(r.out, "FAIL %s\n", name)
}

// readObject is getObj: a YAML file unmarshalled (sigs.k8s.io/yaml) into a map.
func readObject(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	obj := map[string]any{}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return obj, nil
}

// readSpec reads a test file; unlike Argo CD, an unknown field (a misspelt key) is an error.
func readSpec(path string, into any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// healthTests: every test's status and message must equal the expected ones exactly (a
// missing message is ""), as assert.Equal in TestLuaHealthScript. Argo CD runs its own built-in
// scripts there with UseOpenLibs=true; scripts from argocd-cm run without, as here.
func (r *runner) healthTests(dir string) {
	var spec struct {
		Tests []struct {
			InputPath    string       `json:"inputPath"`
			HealthStatus healthStatus `json:"healthStatus"`
		} `json:"tests"`
	}
	if err := readSpec(dir+"/health_test.yaml", &spec); err != nil {
		r.report(false, dir+" health_test.yaml", err.Error())
		return
	}
	if len(spec.Tests) == 0 {
		r.report(false, dir+" health_test.yaml", "no tests")
		return
	}
	script, scriptErr := os.ReadFile(dir + "/health.lua")
	for _, t := range spec.Tests {
		name := dir + " health " + t.InputPath
		if scriptErr != nil {
			r.report(false, name, scriptErr.Error())
			continue
		}
		obj, err := readObject(dir + "/" + t.InputPath)
		if err != nil {
			r.report(false, name, err.Error())
			continue
		}
		got, err := executeHealthLua(obj, string(script))
		switch {
		case err != nil:
			r.report(false, name, err.Error())
		case *got != t.HealthStatus:
			r.report(false, name, fmt.Sprintf("got {status=%q, message=%q}, want {status=%q, message=%q}",
				got.Status, got.Message, t.HealthStatus.Status, t.HealthStatus.Message))
		default:
			r.report(true, name, "")
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (r *runner) actionTests(dir string) {
	actionsDir := dir + "/actions"
	specPath := actionsDir + "/action_test.yaml"
	var spec struct {
		DiscoveryTests []struct {
			InputPath string           `json:"inputPath"`
			Result    []resourceAction `json:"result"`
		} `json:"discoveryTests"`
		ActionTests []struct {
			Action               string            `json:"action"`
			InputPath            string            `json:"inputPath"`
			ExpectedOutputPath   string            `json:"expectedOutputPath"`
			ExpectedErrorMessage string            `json:"expectedErrorMessage"`
			Input                string            `json:"input"` // in Argo CD's test struct, unused
			Parameters           map[string]string `json:"parameters"`
		} `json:"actionTests"`
	}
	if err := readSpec(specPath, &spec); err != nil {
		r.report(false, dir+" actions/action_test.yaml", err.Error())
		return
	}
	for _, t := range spec.DiscoveryTests {
		name := dir + " discovery " + t.InputPath
		ok, why := discoveryTest(actionsDir, t.InputPath, t.Result)
		r.report(ok, name, why)
	}
	for _, t := range spec.ActionTests {
		name := dir + " action " + t.Action + " " + t.InputPath
		ok, why := actionTest(actionsDir, t.Action, t.InputPath, t.ExpectedOutputPath, t.ExpectedErrorMessage, t.Parameters)
		r.report(ok, name, why)
	}
}

// discoveryTest: as in Argo CD, every discovered action (name, params, disabled, iconClass,
// displayName) must be in the expected result; stricter, the counts must also match, so an
// action the script no longer offers fails too.
func discoveryTest(actionsDir, inputPath string, want []resourceAction) (bool, string) {
	script, err := os.ReadFile(actionsDir + "/discovery.lua")
	if err != nil {
		return false, err.Error()
	}
	obj, err := readObject(actionsDir + "/" + inputPath)
	if err != nil {
		return false, err.Error()
	}
	got, err := executeResourceActionDiscovery(obj, []string{string(script)})
	if err != nil {
		return false, err.Error()
	}
	for _, g := range got {
		found := false
		for _, w := range want {
			if reflect.DeepEqual(g, w) {
				found = true
				break
			}
		}
		if !found {
			return false, fmt.Sprintf("discovered %s, which is not in the expected result", describeAction(g))
		}
	}
	if len(got) != len(want) {
		return false, fmt.Sprintf("discovered %d actions, want %d", len(got), len(want))
	}
	return true, ""
}

func describeAction(a resourceAction) string {
	return fmt.Sprintf("{name=%q, disabled=%t, iconClass=%q, displayName=%q, params=%v}",
		a.Name, a.Disabled, a.IconClass, a.DisplayName, a.Params)
}

// actionTest runs one action test like TestLuaResourceActionsScript: with an
// expectedErrorMessage the action must fail with exactly that error; otherwise each impacted
// object is matched with the expected object of the same apiVersion, kind, name and namespace
// (an expected file starting with "-" is a list of {unstructuredObj: ...}), a patch must
// target the input object, and the objects are compared. Argo CD compares with gitops-engine's
// diff, which ignores fields only the result has; here the objects must be equal after Argo
// CD's normalisation (metadata.creationTimestamp and empty annotations dropped, numbers
// compared as JSON), except that annotation values that are RFC 3339 UTC timestamps (the time
// an action ran) compare equal to each other. An action that changes nothing, or an entry
// without an operation, fails (Argo CD would do nothing with it).
func actionTest(actionsDir, action, inputPath, expectedPath, expectedError string, params map[string]string) (bool, string) {
	script, err := os.ReadFile(actionsDir + "/" + action + "/action.lua")
	if err != nil {
		return false, err.Error()
	}
	source, err := readObject(actionsDir + "/" + inputPath)
	if err != nil {
		return false, err.Error()
	}
	results, err := executeResourceAction(source, string(script), params)
	if expectedError != "" {
		if err == nil {
			return false, fmt.Sprintf("no error, want %q", expectedError)
		}
		if err.Error() != expectedError {
			return false, fmt.Sprintf("error %q, want %q", err.Error(), expectedError)
		}
		return true, ""
	}
	if err != nil {
		return false, err.Error()
	}
	if len(results) == 0 {
		return false, "the action returned no object"
	}
	expected, err := readExpectedObjects(actionsDir + "/" + expectedPath)
	if err != nil {
		return false, err.Error()
	}
	for _, res := range results {
		if res.Object == nil {
			return false, "an entry has no resource"
		}
		id := objectID(res.Object)
		var want map[string]any
		for _, e := range expected {
			if sameObject(e, res.Object, source) {
				want = e
				break
			}
		}
		if want == nil {
			return false, "no expected object for " + id
		}
		switch res.Operation {
		case "patch":
			if objectID(source) != id {
				return false, fmt.Sprintf("patch of %s, but only the input object %s can be patched", id, objectID(source))
			}
		case "create":
			// Names derived from the source's name cannot match a fixed file.
			if k := str(res.Object, "kind"); k == "Job" || k == "Workflow" {
				metadata(res.Object)["name"] = str(metadata(want), "name")
			}
		default:
			return false, id + " has no operation (create or patch)"
		}
		if d := diff(normalize(res.Object), normalize(want), ""); d != "" {
			return false, res.Operation + " " + id + ": " + d
		}
	}
	return true, ""
}

// readExpectedObjects is getExpectedObjectList.
func readExpectedObjects(path string) ([]map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 && data[0] == '-' {
		var list []map[string]any
		if err := yaml.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		var out []map[string]any
		for i, item := range list {
			obj, ok := item["unstructuredObj"].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: item %d has no unstructuredObj", path, i)
			}
			out = append(out, obj)
		}
		return out, nil
	}
	obj, err := readObject(path)
	if err != nil {
		return nil, err
	}
	return []map[string]any{obj}, nil
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func metadata(obj map[string]any) map[string]any {
	m, _ := obj["metadata"].(map[string]any)
	if m == nil {
		m = map[string]any{}
		obj["metadata"] = m
	}
	return m
}

func objectID(obj map[string]any) string {
	md, _ := obj["metadata"].(map[string]any)
	return fmt.Sprintf("%s %s %s/%s", str(obj, "apiVersion"), str(obj, "kind"), str(md, "namespace"), str(md, "name"))
}

// sameObject is the match in TestLuaResourceActionsScript: same apiVersion, kind, name and
// namespace; a Job created from a CronJob or a Workflow from a CronWorkflow or
// WorkflowTemplate matches by name prefix (the source's name).
func sameObject(expected, got, source map[string]any) bool {
	em, _ := expected["metadata"].(map[string]any)
	gm, _ := got["metadata"].(map[string]any)
	sm, _ := source["metadata"].(map[string]any)
	if str(expected, "apiVersion") != str(got, "apiVersion") || str(expected, "kind") != str(got, "kind") ||
		str(em, "namespace") != str(gm, "namespace") {
		return false
	}
	gk, sk := str(got, "kind"), str(source, "kind")
	if (gk == "Job" && sk == "CronJob") || (gk == "Workflow" && (sk == "CronWorkflow" || sk == "WorkflowTemplate")) {
		return strings.HasPrefix(str(em, "name"), str(sm, "name"))
	}
	return str(em, "name") == str(gm, "name")
}

var rfc3339UTC = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

// normalize: a JSON round trip (numbers as float64), without metadata.creationTimestamp and
// without an empty or null annotations map (gitops-engine diff.Normalize and
// removeNamespaceAnnotation), and with RFC 3339 UTC timestamps in annotations replaced.
func normalize(obj map[string]any) any {
	data, err := json.Marshal(obj)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	if md, ok := out["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
		if a, present := md["annotations"]; present {
			if am, ok := a.(map[string]any); a == nil || (ok && len(am) == 0) {
				delete(md, "annotations")
			} else if ok {
				for k, v := range am {
					if s, ok := v.(string); ok && rfc3339UTC.MatchString(s) {
						am[k] = "<RFC 3339 UTC timestamp>"
					}
				}
			}
		}
	}
	return out
}

// diff returns the first difference between two JSON values ("" if equal), keys in order.
func diff(got, want any, path string) string {
	show := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %s, want %s", orRoot(path), show(got), show(want))
		}
		keys := map[string]bool{}
		for k := range g {
			keys[k] = true
		}
		for k := range w {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			gv, gok := g[k]
			wv, wok := w[k]
			switch {
			case !gok:
				return fmt.Sprintf("%s.%s: missing, want %s", path, k, show(wv))
			case !wok:
				return fmt.Sprintf("%s.%s: got %s, not in the expected object", path, k, show(gv))
			}
			if d := diff(gv, wv, path+"."+k); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %s, want %s", orRoot(path), show(got), show(want))
		}
		for i := range w {
			if d := diff(g[i], w[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("%s: got %s, want %s", orRoot(path), show(got), show(want))
	}
	return ""
}

func orRoot(path string) string {
	if path == "" {
		return "."
	}
	return path
}

// evalHealth prints one JSON line per object file, {path, status, message} or {path, error},
// with the health.lua of dir: what Argo CD would show for each, with nothing to compare.
// hack/fixtures.py builds the table of health per recorded live state from it.
func evalHealth(out io.Writer, dir string, paths []string) int {
	script, err := os.ReadFile(dir + "/health.lua")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	enc := json.NewEncoder(out)
	for _, path := range paths {
		line := map[string]string{"path": path}
		obj, err := readObject(path)
		if err == nil {
			var hs *healthStatus
			if hs, err = executeHealthLua(obj, string(script)); err == nil {
				line["status"], line["message"] = hs.Status, hs.Message
			}
		}
		if err != nil {
			line["error"] = err.Error()
		}
		if err := enc.Encode(line); err != nil {
			return 1
		}
	}
	return 0
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: argocd-lua <group>/<Kind> [<group>/<Kind> ...]\n       argocd-lua eval <group>/<Kind> <object.yaml> [...]")
		os.Exit(2)
	}
	// Results go to stdout; what a script prints (Lua's print writes to os.Stdout) goes to stderr.
	out := os.Stdout
	os.Stdout = os.Stderr
	// gopher-lua builds package.path from LUA_PATH; Argo CD's containers do not set it.
	os.Unsetenv("LUA_PATH")
	if os.Args[1] == "eval" && len(os.Args) >= 3 {
		os.Exit(evalHealth(out, strings.TrimRight(os.Args[2], "/"), os.Args[3:]))
	}
	r := &runner{out: out}
	for _, dir := range os.Args[1:] {
		dir = strings.TrimRight(dir, "/")
		health, actions := exists(dir+"/health.lua") || exists(dir+"/health_test.yaml"), exists(dir+"/actions")
		if !health && !actions {
			r.report(false, dir, "neither health.lua nor actions/")
		}
		if health {
			r.healthTests(dir)
		}
		if actions {
			r.actionTests(dir)
		}
	}
	fmt.Fprintf(out, "%d passed, %d failed\n", r.passed, r.failed)
	if r.failed > 0 {
		os.Exit(1)
	}
}
