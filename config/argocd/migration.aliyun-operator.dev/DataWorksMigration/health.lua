-- Argo CD health check for migration.aliyun-operator.dev/DataWorksMigration.
-- Derived from src/api/dataworks_migration.rs: status.phase (DataWorksMigrationPhase), the Ready
-- condition, status.export / status.import (task id and DataWorks status) and
-- status.observedGeneration. Runs under Argo CD's restricted Lua 5.1 (no string or math
-- library).
-- The phase tables below must name every DataWorksMigrationPhase exactly once;
-- hack/check-addon.sh compares them with the CRD's enum.

-- Healthy only with Ready True: the import task reported IMPORT_SUCCESS.
local READY_GATED = { Succeeded = true }
-- PartiallySucceeded: some objects were not imported (which ones only the console's report
-- says); a Cutover gate fails on it unless its entry sets acceptPartialSuccess. Failed: the
-- export or import failed (re-import with spec.retryRequestedAt). Invalid: a spec the
-- operator cannot act on.
local DEGRADED = { PartiallySucceeded = true, Failed = true, Invalid = true }
-- The paused annotation: waiting for a human.
local SUSPENDED = { Paused = true }
local PROGRESSING = { Exporting = true, Uploading = true, Importing = true }

local hs = {}

local function condition(ctype)
  if obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

-- The first argument that is a non-empty string.
local function first(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil and v ~= "" then
      return v
    end
  end
  return ""
end

-- "import task 300002 IMPORTING" when DataWorks reported the task's status, or "".
local function task(kind, t)
  if t == nil or t.id == nil or t.status == nil then
    return ""
  end
  return kind .. " task " .. tostring(t.id) .. " " .. t.status
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the DataWorksMigration"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if observed == nil or (generation ~= nil and observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

-- One rule on every kind: Stalled=True means the operator cannot go on until a person acts (a
-- spec or Secret to fix, or the cloud failing for longer than the operator's grace period); the
-- operator sets it, with the reason, so this script needs no clock.
local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" and obj.status.phase ~= "Paused" then
  hs.status = "Degraded"
  hs.message = first(stalled.message, stalled.reason, "Stalled")
  return hs
end

local phase = obj.status.phase
local ready = condition("Ready")
local readyMessage = nil
if ready ~= nil then
  readyMessage = ready.message
end

if READY_GATED[phase] and ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = first(readyMessage, task("import", obj.status.import), "Imported")
  return hs
end

if DEGRADED[phase] then
  hs.status = "Degraded"
  hs.message = first(readyMessage, "Phase " .. phase)
  return hs
end

if SUSPENDED[phase] then
  hs.status = "Suspended"
  hs.message = first(readyMessage, "Reconciliation paused by the annotation migration.aliyun-operator.dev/paused")
  return hs
end

-- PROGRESSING phases, Succeeded before Ready turns True, and phases newer than this script.
hs.status = "Progressing"
if phase == nil then
  hs.message = first(readyMessage, "Waiting for the operator to set a phase")
elseif phase == "Exporting" then
  hs.message = first(readyMessage, task("export", obj.status.export), "Phase Exporting")
elseif phase == "Importing" then
  hs.message = first(readyMessage, task("import", obj.status.import), "Phase Importing")
else
  hs.message = first(readyMessage, "Phase " .. phase)
end
return hs
