# Post Script of the example Order Cancel Flow: after a plan the ERP took and Omnitron approved,
# tell the CRM. Its output is ignored; a failure is logged on the plan's row, never fails it.
import json
import urllib.request
from java.nio.charset import StandardCharsets
from org.apache.commons.io import IOUtils

flowFile = session.get()
if flowFile != None:
    data = json.loads(IOUtils.toString(session.read(flowFile), StandardCharsets.UTF_8))
    request = data.get("request_data") or {}
    body = json.dumps({"event": "cancellation_approved", "plan": request.get("plan_id"),
                       "order": request.get("order_number")}).encode("utf-8")
    url = context.getProperty("crm_url").getValue()
    urllib.request.urlopen(urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}), timeout=10).read()
    session.transfer(flowFile, REL_SUCCESS)
