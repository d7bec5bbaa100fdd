# The product's default Custom Response Script (Order Cancel Flow): it reads the ERP's answer to
# a cancellation plan and sets `relation` (decisions.md):
#   2xx                 -> continue   (the plan goes to its Next State in Omnitron)
#   401, 403            -> auth_fail  (log in to the ERP again and send once more)
#   5xx, or no answer   -> do_nothing (left for a later run)
#   any other answer    -> failure    (the plan is rejected in Omnitron)
# Attributes it may read: invokehttp.status.code, channel_type, rejected_count.
flowFile = session.get()
if flowFile != None:
    code = flowFile.getAttribute("invokehttp.status.code")
    try:
        status = int(code) if code else 0
    except ValueError:
        status = 0
    if 200 <= status < 300:
        relation = "continue"
    elif status in (401, 403):
        relation = "auth_fail"
    elif status == 0 or status >= 500:
        relation = "do_nothing"
    else:
        relation = "failure"
    flowFile = session.putAttribute(flowFile, "relation", relation)
    session.transfer(flowFile, REL_SUCCESS)
