# Script card of the example Order Flow, written exactly as for Akinon Integrator (NiFi
# ExecuteScript): it runs unchanged in omnibridge.
#
# Input: one Omnitron order (detail + orderitem_set + discountitem_set).
# Output: the same order with the fields the ERP mapping needs.
import json
import traceback
from java.nio.charset import StandardCharsets
from org.apache.commons.io import IOUtils
from org.apache.nifi.processor.io import StreamCallback

PAYMENT_TYPES = {
    "credit_card": "CC",
    "pay_on_delivery": "COD",
    "funds_transfer": "EFT",
}


def get_attribute(flow_file, attr_name):
    all_var = flow_file.getAttribute("allVar")
    if all_var:
        all_attributes = json.loads(all_var)
        return all_attributes.get(attr_name, None)
    return flow_file.getAttribute(attr_name)


class TransformCallback(StreamCallback):
    def __init__(self, flowFile):
        self.flowFile = flowFile
        self.omnitronToken = get_attribute(flowFile, "token.omnitron")
        self.erpToken = get_attribute(flowFile, "token.erp")
        self.item_count = 0

    def process(self, inputStream, outputStream):
        input_text = IOUtils.toString(inputStream, StandardCharsets.UTF_8)
        order = json.loads(input_text)
        output = self.transform(order)
        outputStream.write(bytearray(json.dumps(output).encode("utf-8")))

    def transform(self, order):
        items = order.get("orderitem_set") or []
        self.item_count = len(items)
        payment = order.get("payment_option") or {}
        order["erp_payment_type"] = PAYMENT_TYPES.get(payment.get("payment_type"), "OTHER")
        order["erp_channel"] = "WEB" if (order.get("channel") or {}).get("channel_type") == "web" else "MARKETPLACE"
        # The ERP wants one line per item with a net price (price minus the item's discount).
        for item in items:
            price = float(item.get("price") or 0)
            discount = float(item.get("discount_amount") or 0)
            item["net_price"] = "%.2f" % (price - discount)
        address = order.get("shipping_address") or {}
        order["shipping_full_name"] = " ".join(
            part for part in [address.get("first_name"), address.get("last_name")] if part
        )
        return order


flowFile = session.get()
if flowFile != None:
    try:
        callback = TransformCallback(flowFile)
        flowFile = session.write(flowFile, callback)
        flowFile = session.putAttribute(flowFile, "log.order.items", str(callback.item_count))
        session.transfer(flowFile, REL_SUCCESS)
    except:
        var = traceback.format_exc()
        session.putAttribute(flowFile, "log.script.error", str(var))
        session.transfer(flowFile, REL_FAILURE)
    session.commit()
