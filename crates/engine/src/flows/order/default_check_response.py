# The default Check Response Script of the Order Flow.
#
# Input: {"request_data": <the body sent to the ERP, or the Omnitron order when the order was
# found by Query Check Order>, "response_data": <the ERP's answer>}.
# Output: what Write Data to Omnitron needs. It assumes request_data still has Omnitron's shape
# (`number`, `orderitem_set[].pk`); when your Script or Mapping changes that shape, write your
# own Check Response Script that fills the same structure from your request and response.
import json
import traceback
from java.nio.charset import StandardCharsets
from org.apache.commons.io import IOUtils
from org.apache.nifi.processor.io import StreamCallback


class CheckResponseCallback(StreamCallback):
    def process(self, inputStream, outputStream):
        data = json.loads(IOUtils.toString(inputStream, StandardCharsets.UTF_8))
        request_data = data.get("request_data") or {}
        response_data = data.get("response_data")
        orderitems = []
        for item in request_data.get("orderitem_set") or []:
            orderitems.append({
                "order_item_id": item["pk"],
                "item_mapping_code": str(item["pk"]),
                "update_stock": True,
                "external_status": None,
                "extra_field": {},
            })
        output = {
            "is_send": "1",
            "data": {"request_data": request_data, "response_data": response_data},
            "order_mapping_value": str(request_data.get("number")),
            "external_status": None,
            "orderitems": orderitems,
            "extra_field": {},
        }
        outputStream.write(bytearray(json.dumps(output).encode("utf-8")))


flowFile = session.get()
if flowFile is not None:
    try:
        flowFile = session.write(flowFile, CheckResponseCallback())
        session.transfer(flowFile, REL_SUCCESS)
    except Exception:
        flowFile = session.putAttribute(flowFile, "log.script.error", traceback.format_exc())
        session.transfer(flowFile, REL_FAILURE)
    session.commit()
