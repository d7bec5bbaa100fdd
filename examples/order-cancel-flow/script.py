# Script card of the example Order Cancel Flow (NiFi ExecuteScript style, as for Akinon
# Integrator): one cancellation plan in, the plan with the ERP's reason code out.
import json
import traceback
from java.nio.charset import StandardCharsets
from org.apache.commons.io import IOUtils
from org.apache.nifi.processor.io import StreamCallback

REASONS = {"cancel": "CUSTOMER_CANCEL", "refund": "CUSTOMER_RETURN"}


class TransformCallback(StreamCallback):
    def __init__(self, flowFile):
        self.flowFile = flowFile
        self.items = 0

    def process(self, inputStream, outputStream):
        plan = json.loads(IOUtils.toString(inputStream, StandardCharsets.UTF_8))
        plan["erp_reason"] = REASONS.get(plan.get("plan_type"), "OTHER")
        self.items = len(plan.get("cancellationplanorderitem_set") or [])
        outputStream.write(bytearray(json.dumps(plan).encode("utf-8")))


flowFile = session.get()
if flowFile != None:
    try:
        callback = TransformCallback(flowFile)
        flowFile = session.write(flowFile, callback)
        flowFile = session.putAttribute(flowFile, "log.plan.items", str(callback.items))
        session.transfer(flowFile, REL_SUCCESS)
    except:
        session.putAttribute(flowFile, "log.script.error", traceback.format_exc())
        session.transfer(flowFile, REL_FAILURE)
    session.commit()
