-- Runs Argo CD resource customization tests under Lua 5.1, the way Argo CD runs the scripts.
--
--   lua5.1 config/argocd/test/harness.lua <group>/<Kind> [<group>/<Kind> ...]
--
-- For each <group>/<Kind> directory (Argo CD's resource_customizations layout):
--   health_test.yaml          tests: [{inputPath, healthStatus: {status, message}}]
--   actions/action_test.yaml  discoveryTests: [{inputPath, result: [{name, disabled, ...}]}]
--                             actionTests: [{action, inputPath, expectedOutputPath}]
--
-- What mirrors argo-cd util/lua (lua.go, oslib_safe.go; gopher-lua is a Lua 5.1 VM):
--   * the script is a chunk run with the resource as the global `obj`; JSON null becomes nil;
--   * restricted libraries, as for scripts installed through argocd-cm without useOpenLibs:
--     base functions, `table`, `package`/`require` (for `require("os")`) and a safe `os` with
--     only `time` and `date`. No `string`, `math`, `io` or `debug`, and no string methods
--     (`("x"):upper()` fails in Argo CD because its string metatable is never set up). The
--     sandbox here offers a subset of Argo CD's base library (no dofile/loadfile/load*), never
--     more, so a script that passes here does not rely on anything Argo CD lacks;
--   * a 1 s time budget per script (Argo CD cancels the VM after 1 s);
--   * health: the returned value must be a table; it goes through JSON into
--     {status, message}; a status outside Healthy/Progressing/Degraded/Suspended/Missing/Unknown
--     becomes Unknown "Lua returned an invalid health status". Expected and actual status and
--     message must be equal (a missing message equals "");
--   * discovery: the returned table maps action names to {disabled, iconClass, displayName};
--     every discovered action must appear in the expected result, with the same fields;
--   * actions: old-style output (the modified object) is compared with the expected object.
--     Like Argo CD's own action tests, values that are the current time cannot match a fixed
--     file: annotation values that are RFC 3339 UTC timestamps compare equal to each other.
--
-- Prints one line per test and `N passed, N failed`; exits 1 when a test failed.

local lyaml = require("lyaml")
local cjson = require("cjson")

local passed, failed = 0, 0

local function report(ok, name, detail)
  if ok then
    passed = passed + 1
    print("PASS " .. name)
  else
    failed = failed + 1
    print("FAIL " .. name .. (detail and (": " .. detail) or ""))
  end
end

local function read_file(path)
  local f, err = io.open(path, "r")
  if not f then
    return nil, err
  end
  local text = f:read("*a")
  f:close()
  return text
end

-- lyaml represents null as the sentinel lyaml.null; Argo CD's decodeValue turns JSON null into
-- nil (the key disappears from the table).
local function strip_nulls(v)
  if v == lyaml.null then
    return nil
  end
  if type(v) == "table" then
    local out = {}
    for k, item in pairs(v) do
      out[k] = strip_nulls(item)
    end
    return out
  end
  return v
end

local function load_yaml(path)
  local text, err = read_file(path)
  if not text then
    error("cannot read " .. path .. ": " .. tostring(err))
  end
  return strip_nulls(lyaml.load(text))
end

local function deep_copy(v)
  if type(v) ~= "table" then
    return v
  end
  local out = {}
  for k, item in pairs(v) do
    out[deep_copy(k)] = deep_copy(item)
  end
  return out
end

-- The environment Argo CD gives a script that argocd-cm installs without useOpenLibs.
local function sandbox(obj)
  local safe_os = { time = os.time, date = os.date }
  local env = {
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
    print = print, rawequal = rawequal, rawget = rawget, rawset = rawset, select = select,
    getmetatable = getmetatable, setmetatable = setmetatable, tonumber = tonumber,
    tostring = tostring, type = type, unpack = unpack, xpcall = xpcall, _VERSION = _VERSION,
    table = {
      concat = table.concat, insert = table.insert, maxn = table.maxn, remove = table.remove,
      sort = table.sort,
    },
    os = safe_os,
    package = { loaded = { os = safe_os } },
  }
  env.require = function(name)
    if name == "os" then
      return safe_os
    end
    error("module '" .. tostring(name) .. "' not found (Argo CD preloads only 'os')", 2)
  end
  env._G = env
  env.obj = obj
  return env
end

-- Runs `path` with `obj` as Argo CD would; returns ok, result-or-error.
local function run_script(path, obj)
  local source, err = read_file(path)
  if not source then
    return false, "cannot read " .. path .. ": " .. tostring(err)
  end
  local chunk, perr = loadstring(source, "@" .. path)
  if not chunk then
    return false, perr
  end
  setfenv(chunk, sandbox(obj))
  -- Argo CD never installs string methods on strings; hide Lua 5.1's for the script's run.
  local string_mt = getmetatable("")
  local string_index = string_mt.__index
  string_mt.__index = nil
  local started = os.clock()
  debug.sethook(function()
    if os.clock() - started > 1 then
      error("script exceeded Argo CD's 1 s budget", 2)
    end
  end, "", 1000)
  local ok, result = pcall(chunk)
  debug.sethook()
  string_mt.__index = string_index
  return ok, result
end

local VALID_HEALTH = {
  Healthy = true, Progressing = true, Degraded = true, Suspended = true, Missing = true, Unknown = true,
}

-- Argo CD encodes the returned table to JSON and decodes it into HealthStatus{status, message}.
local function to_health(result)
  if type(result) ~= "table" then
    return nil, "expect table output from Lua script, not " .. type(result)
  end
  local ok, encoded = pcall(cjson.encode, result)
  if not ok then
    return nil, "result does not encode to JSON: " .. tostring(encoded)
  end
  local decoded = cjson.decode(encoded)
  if type(decoded) ~= "table" then
    return nil, "result is not a JSON object"
  end
  for _, field in ipairs({ "status", "message" }) do
    local v = decoded[field]
    if v ~= nil and v ~= cjson.null and type(v) ~= "string" then
      return nil, field .. " must be a string, got " .. type(v)
    end
  end
  local status = decoded.status
  if status == cjson.null or status == nil then
    status = ""
  end
  local message = decoded.message
  if message == cjson.null or message == nil then
    message = ""
  end
  if not VALID_HEALTH[status] then
    return { status = "Unknown", message = "Lua returned an invalid health status" }
  end
  return { status = status, message = message }
end

local function join(dir, rel)
  return dir .. "/" .. rel
end

local function run_health_tests(dir)
  local test_file = join(dir, "health_test.yaml")
  local spec = load_yaml(test_file)
  if type(spec) ~= "table" or type(spec.tests) ~= "table" or #spec.tests == 0 then
    report(false, test_file, "no tests")
    return
  end
  for _, t in ipairs(spec.tests) do
    local name = dir .. " health " .. tostring(t.inputPath)
    local expected = t.healthStatus or {}
    local ok, result = run_script(join(dir, "health.lua"), load_yaml(join(dir, t.inputPath)))
    if not ok then
      report(false, name, "script error: " .. tostring(result))
    else
      local health, herr = to_health(result)
      if not health then
        report(false, name, herr)
      else
        local want_status = expected.status or ""
        local want_message = expected.message or ""
        if health.status == want_status and health.message == want_message then
          report(true, name)
        else
          report(false, name, string.format("got {status=%q, message=%q}, want {status=%q, message=%q}",
            health.status, health.message, want_status, want_message))
        end
      end
    end
  end
end

local function is_timestamp(v)
  return type(v) == "string" and v:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$") ~= nil
end

-- Annotation values holding the current time cannot match a fixed expected file.
local function normalize_times(object)
  if type(object) == "table" and type(object.metadata) == "table" and type(object.metadata.annotations) == "table" then
    for k, v in pairs(object.metadata.annotations) do
      if is_timestamp(v) then
        object.metadata.annotations[k] = "<timestamp>"
      end
    end
  end
  return object
end

local function is_empty(t)
  return type(t) == "table" and next(t) == nil
end

-- Structural equality; empty tables are equal whatever they stood for ({} or []), as Argo CD's
-- cleanReturnedObj restores empty objects that Lua turned into empty arrays.
local function diff(a, b, path)
  if type(a) ~= type(b) then
    return path .. ": " .. type(a) .. " vs " .. type(b)
  end
  if type(a) ~= "table" then
    if a ~= b then
      return path .. ": " .. tostring(a) .. " vs " .. tostring(b)
    end
    return nil
  end
  if is_empty(a) and is_empty(b) then
    return nil
  end
  for k, v in pairs(a) do
    local d = diff(v, b[k], path .. "." .. tostring(k))
    if d then
      return d
    end
  end
  for k, _ in pairs(b) do
    if a[k] == nil then
      return path .. "." .. tostring(k) .. ": missing in actual"
    end
  end
  return nil
end

local function run_action_tests(dir)
  local actions_dir = join(dir, "actions")
  local spec_path = join(actions_dir, "action_test.yaml")
  if not read_file(spec_path) then
    return
  end
  local spec = load_yaml(spec_path)
  for _, t in ipairs(spec.discoveryTests or {}) do
    local name = dir .. " discovery " .. tostring(t.inputPath)
    local ok, result = run_script(join(actions_dir, "discovery.lua"), load_yaml(join(actions_dir, t.inputPath)))
    if not ok then
      report(false, name, "script error: " .. tostring(result))
    elseif type(result) ~= "table" then
      report(false, name, "expect table output from Lua script, not " .. type(result))
    else
      local expected = {}
      local want_count = 0
      for _, a in ipairs(t.result or {}) do
        expected[a.name] = a
        want_count = want_count + 1
      end
      local problem = nil
      local got_count = 0
      for action_name, def in pairs(result) do
        got_count = got_count + 1
        local want = expected[action_name]
        if type(def) ~= "table" then
          def = {}
        end
        if not want then
          problem = "unexpected action " .. tostring(action_name)
        elseif (def.disabled == true) ~= (want.disabled == true)
          or def.iconClass ~= want.iconClass or def.displayName ~= want.displayName then
          problem = string.format("%s: got disabled=%s iconClass=%s displayName=%s, want disabled=%s iconClass=%s displayName=%s",
            action_name, tostring(def.disabled == true), tostring(def.iconClass), tostring(def.displayName),
            tostring(want.disabled == true), tostring(want.iconClass), tostring(want.displayName))
        end
        if problem then
          break
        end
      end
      if not problem and got_count ~= want_count then
        problem = "got " .. got_count .. " actions, want " .. want_count
      end
      report(problem == nil, name, problem)
    end
  end
  for _, t in ipairs(spec.actionTests or {}) do
    local name = dir .. " action " .. tostring(t.action) .. " " .. tostring(t.inputPath)
    local script = join(join(actions_dir, t.action), "action.lua")
    local ok, result = run_script(script, load_yaml(join(actions_dir, t.inputPath)))
    if not ok then
      report(false, name, "script error: " .. tostring(result))
    elseif type(result) ~= "table" then
      report(false, name, "expect table output from Lua script, not " .. type(result))
    else
      local encoded_ok, encoded = pcall(cjson.encode, result)
      if not encoded_ok then
        report(false, name, "result does not encode to JSON: " .. tostring(encoded))
      else
        local actual = normalize_times(deep_copy(result))
        local expected = normalize_times(load_yaml(join(actions_dir, t.expectedOutputPath)))
        local d = diff(actual, expected, "obj")
        report(d == nil, name, d)
      end
    end
  end
end

if #arg == 0 then
  io.stderr:write("usage: lua5.1 harness.lua <group>/<Kind> [...]\n")
  os.exit(2)
end
for _, dir in ipairs(arg) do
  dir = dir:gsub("/+$", "")
  local ok, err = pcall(run_health_tests, dir)
  if not ok then
    report(false, dir .. " health_test.yaml", tostring(err))
  end
  ok, err = pcall(run_action_tests, dir)
  if not ok then
    report(false, dir .. " actions/action_test.yaml", tostring(err))
  end
end
print(string.format("%d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
