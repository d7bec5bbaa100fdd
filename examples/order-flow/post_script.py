# Post Script of the example Order Flow: tells the CRM what happened to the order.
# Its output is ignored and its errors never fail the order. `crm_url` is a property of the
# Post Script card (flow.toml), read as ExecuteScript reads dynamic properties.
import json
import traceback
import urllib.request
from java.nio.charset import StandardCharsets
from org.apache.commons.io import IOUtils
from org.apache.nifi.processor.io import InputStreamCallback


class ReadInput(InputStreamCallback):
    def __init__(self):
        self.data = None

    def process(self, inputStream):
        self.data = json.loads(IOUtils.toString(inputStream, StandardCharsets.UTF_8))


flowFile = session.get()
if flowFile != None:
    try:
        reader = ReadInput()
        session.read(flowFile, reader)
        request = reader.data.get("request_data") or {}
        response = reader.data.get("response_data")
        accepted = isinstance(response, dict) and bool(response.get("erp_order_no") or response.get("order"))
        event = {
            "event": "order_sent" if accepted else "order_failed",
            "order_number": request.get("order_number") or request.get("number"),
            "erp_response": response,
        }
        crm_url = context.getProperty("crm_url").getValue()
        call = urllib.request.Request(
            crm_url,
            data=json.dumps(event).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(call, timeout=10) as answer:
            flowFile = session.putAttribute(flowFile, "log.crm.status", str(answer.status))
        session.transfer(flowFile, REL_SUCCESS)
    except:
        session.putAttribute(flowFile, "log.script.error", traceback.format_exc())
        session.transfer(flowFile, REL_FAILURE)
    session.commit()
