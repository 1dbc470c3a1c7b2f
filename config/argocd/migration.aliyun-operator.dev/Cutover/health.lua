-- Argo CD health check for migration.aliyun-operator.dev/Cutover.
-- Derived from src/api/cutover/status.rs: status.phase (CutoverPhase), status.reason,
-- status.gatesSummary, the Ready condition and status.observedGeneration. Runs under Argo CD's
-- restricted Lua 5.1 (no string or math library).
-- The phase tables below must name every CutoverPhase exactly once; hack/check-addon.sh
-- compares them with the CRD's enum.
--
-- Suspended is what lets a sync wave or PostSync hook wait on a Cutover without failing: the
-- Cutover waits for a person (approval, resume after a failed gate), a window or a dry run.

local HEALTHY = { Completed = true }
local SUSPENDED = { AwaitingApproval = true, WaitingForWindow = true, Paused = true, DryRun = true }
-- Terminal: a failed step, an abort before the switch, or a completed rollback. None of them
-- leaves the application on the new database.
local DEGRADED = { Failed = true, Aborted = true, RolledBack = true }
-- Freezing to Watching: the switch is under way (the application's writes may be stopped).
local PROGRESSING = {
  Pending = true, Gating = true, Freezing = true, Draining = true, Switching = true,
  Verifying = true, Unfreezing = true, Watching = true, RollingBack = true,
}

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

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the Cutover"
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

local status = obj.status
local phase = status.phase
local ready = condition("Ready")
local readyMessage = nil
if ready ~= nil then
  readyMessage = ready.message
end
local gates = ""
if status.gatesSummary ~= nil then
  gates = " (" .. status.gatesSummary .. " gates passed)"
end

if HEALTHY[phase] then
  hs.status = "Healthy"
  hs.message = first(readyMessage, "Cutover completed")
  return hs
end

if SUSPENDED[phase] then
  hs.status = "Suspended"
  if phase == "AwaitingApproval" then
    hs.message = "Awaiting approval" .. gates .. ": " .. first(readyMessage,
      "set spec.approval or the annotation migration.aliyun-operator.dev/approved-by")
  elseif phase == "WaitingForWindow" then
    hs.message = "Waiting for the maintenance window" .. gates .. ": " .. first(readyMessage,
      "the switch starts when spec.gates.window opens")
  elseif phase == "DryRun" then
    hs.message = "Dry run" .. gates .. ": " .. first(readyMessage,
      "plan written to status.steps; set spec.dryRun to false to switch")
  elseif status.pausedFrom ~= nil then
    hs.message = "Paused by the annotation migration.aliyun-operator.dev/paused (was "
      .. status.pausedFrom .. "); remove it to go on"
  else
    hs.message = "Paused: " .. first(status.reason, readyMessage,
      "resume with the annotation migration.aliyun-operator.dev/resume-requested-at")
  end
  return hs
end

if DEGRADED[phase] then
  hs.status = "Degraded"
  hs.message = phase .. ": " .. first(status.reason, readyMessage, "see status.steps")
  return hs
end

-- PROGRESSING phases and phases newer than this script.
hs.status = "Progressing"
if phase == nil then
  hs.message = first(readyMessage, "Waiting for the operator to set a phase")
elseif phase == "Gating" then
  hs.message = "Gating" .. gates .. ": " .. first(readyMessage, "waiting for every gate to pass")
else
  hs.message = first(readyMessage, "Phase " .. phase)
end
return hs
