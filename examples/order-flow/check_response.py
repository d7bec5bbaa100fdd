# Check Response Script of the example Order Flow.
#
# Input: {"request_data": ..., "response_data": ...}
#  - after Write Data to ERP: request_data is the mapped ERP body (lines[].omnitron_item_id) and
#    response_data the ERP's answer {"erp_order_no": "E...", "lines": [{"omnitron_item_id",
#    "erp_line_code"}]};
#  - when Query Check Order found the order: request_data is the Omnitron order
#    (orderitem_set[].pk) and response_data the query's answer {"order": {"erp_no", "lines"}}.
# Output: the structure Write Data to Omnitron needs. A 2xx answer that says
# {"success": false} is refused (is_send "0"), so the order is retried next run.
import json
import traceback
from java.nio.charset import StandardCharsets
from org.apache.commons.io import IOUtils
from org.apache.nifi.processor.io import StreamCallback


class CheckResponse(StreamCallback):
    def __init__(self):
        self.refusal = None

    def process(self, inputStream, outputStream):
        data = json.loads(IOUtils.toString(inputStream, StandardCharsets.UTF_8))
        request = data.get("request_data") or {}
        response = data.get("response_data") or {}
        if not isinstance(response, dict):
            response = {}
        found = response.get("order") if isinstance(response.get("order"), dict) else None
        if response.get("success") is False:
            self.refusal = response.get("message") or "the ERP refused the order"
            output = {"is_send": "0", "data": data, "order_mapping_value": None,
                      "external_status": None, "orderitems": [], "extra_field": {}}
        else:
            source = found or response
            erp_number = source.get("erp_order_no") or source.get("erp_no")
            codes = {}
            for line in source.get("lines") or []:
                codes[str(line.get("omnitron_item_id"))] = line.get("erp_line_code")
            if "lines" in request:
                item_ids = [line.get("omnitron_item_id") for line in request["lines"]]
                number = request.get("order_number")
            else:
                item_ids = [item.get("pk") for item in request.get("orderitem_set") or []]
                number = request.get("number")
            output = {
                "is_send": "1",
                "data": data,
                "order_mapping_value": erp_number or number,
                "external_status": None,
                "orderitems": [
                    {
                        "order_item_id": item_id,
                        "item_mapping_code": codes.get(str(item_id)) or str(item_id),
                        "update_stock": True,
                        "external_status": None,
                        "extra_field": {},
                    }
                    for item_id in item_ids
                ],
                "extra_field": {},
            }
        outputStream.write(bytearray(json.dumps(output).encode("utf-8")))


flowFile = session.get()
if flowFile != None:
    try:
        callback = CheckResponse()
        flowFile = session.write(flowFile, callback)
        if callback.refusal:
            flowFile = session.putAttribute(flowFile, "log.erp.refusal", callback.refusal)
        session.transfer(flowFile, REL_SUCCESS)
    except:
        session.putAttribute(flowFile, "log.script.error", traceback.format_exc())
        session.transfer(flowFile, REL_FAILURE)
    session.commit()
