-- wrk script: POSTs valid comments (the seven fields; captcha off via --insecure-no-captcha),
-- each with its own opinion text, and reports accepted comments per second and latency.
local counter = 0
local ids = { "11010519491231002X", "210102199001011237", "440301198512120016" }

-- Each wrk thread runs its own copy of this script: without a thread number and a run stamp,
-- both threads (and the warm-up before the measured run) sent the same numbered texts, so that
-- half of all comments were exact copies of another, which no crowd of individuals sends.
local threads = 0
setup = function(thread)
  thread:set("thread_no", threads)
  thread:set("stamp", os.time() % 100000)
  threads = threads + 1
end

request = function()
  counter = counter + 1
  local n = (stamp or 0) * 100000000 + counter * 8 + (thread_no or 0)
  local body = string.format(
    '{"name":"张三","id_number":"%s","position":"公务员","phone":"138 0013 %04d","email":"bench%d@example.com",' ..
    '"opinion":"关于第5条的意见第%d号：建议加大对中小企业的支持力度，细化补贴标准。","articles":[5,12]}',
    ids[(counter % 3) + 1], counter % 10000, n, n)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end

done = function(summary, latency, requests)
  local accepted = summary.requests - summary.errors.status - summary.errors.connect - summary.errors.read
      - summary.errors.write - summary.errors.timeout
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT requests=%d accepted=%d non2xx=%d socket_errors=%d seconds=%.2f rate=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, accepted, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    seconds, accepted / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
