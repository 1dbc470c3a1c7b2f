-- Argo CD health check for migration.aliyun-operator.dev/MmsJob.
-- Derived from src/api/mms_job.rs: status.phase (MmsJobPhase), the Ready condition ("job
-- finished successfully") and status.observedGeneration. Runs under Argo CD's restricted Lua 5.1
-- (no string or math library).
-- The phase tables below must name every MmsJobPhase exactly once; hack/check-addon.sh compares
-- them with the CRD's enum.

-- Healthy only with Ready True: Succeeded is reported before the Ready condition settles;
-- Scheduled (rounds on an MMS timer after the first job) is Ready while its rounds succeed.
local READY_GATED = { Succeeded = true, Scheduled = true }
-- Scheduled with Ready False for these reasons needs a person: the newest round failed, the
-- timer was deleted outside the operator, or an ObserveOnly job has no timer named to follow.
local function roundsNeedAPerson(reason)
  return reason == "RoundFailed" or reason == "TimerGone" or reason == "NoTimer"
end
-- Failed tasks with nothing else running (retry with spec.retryRequestedAt), or a spec the
-- operator cannot act on.
local DEGRADED = { Failed = true, Invalid = true }
-- spec.suspend (StopMmsJob) or the paused annotation: waiting for a human.
local SUSPENDED = { Suspended = true, Paused = true }
local PROGRESSING = { Pending = true, WaitingForDataSource = true, Creating = true, Running = true, Deleting = true }

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
  hs.message = "Waiting for the operator to reconcile the MmsJob"
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
local progress = ""
if obj.status.progress ~= nil then
  progress = " " .. obj.status.progress
end

if READY_GATED[phase] and ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = first(readyMessage, "All tasks done" .. progress)
  return hs
end

if phase == "Scheduled" and ready ~= nil and ready.status == "False" and roundsNeedAPerson(ready.reason) then
  hs.status = "Degraded"
  hs.message = first(readyMessage, ready.reason)
  return hs
end

if DEGRADED[phase] then
  hs.status = "Degraded"
  hs.message = first(readyMessage, "Phase " .. phase .. progress)
  return hs
end

if SUSPENDED[phase] then
  hs.status = "Suspended"
  if phase == "Paused" then
    hs.message = first(readyMessage, "Reconciliation paused by the annotation migration.aliyun-operator.dev/paused")
  else
    hs.message = first(readyMessage, "MMS job stopped by spec.suspend" .. progress)
  end
  return hs
end

-- PROGRESSING phases, Succeeded before Ready turns True, and phases newer than this script.
hs.status = "Progressing"
if phase == nil then
  hs.message = first(readyMessage, "Waiting for the operator to set a phase")
else
  hs.message = first(readyMessage, "Phase " .. phase .. progress)
end
return hs
