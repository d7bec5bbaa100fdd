# Per-row script of Write Data to Omnitron: one order object in, the final order object out.
# It keeps only the fields Omnitron's bulk status update takes, and logs what it writes
# (attributes named log.* are kept with the row's log line).
import json
import traceback
from java.nio.charset import StandardCharsets
from org.apache.commons.io import IOUtils
from org.apache.nifi.processor.io import StreamCallback

ITEM_FIELDS = ("id", "status", "invoice_number", "invoice_date", "e_archive_url",
               "tracking_number", "shipping_company", "shipping_date")


class TransformCallback(StreamCallback):
    def __init__(self, flowFile):
        self.flowFile = flowFile
        self.summary = ""

    def process(self, inputStream, outputStream):
        order = json.loads(IOUtils.toString(inputStream, StandardCharsets.UTF_8))
        output = self.transform(order)
        outputStream.write(bytearray(json.dumps(output).encode("utf-8")))

    def transform(self, order):
        items = []
        for item in order.get("orderitem_set") or []:
            items.append(dict((k, item[k]) for k in ITEM_FIELDS if item.get(k) is not None))
        order["orderitem_set"] = items
        self.summary = ", ".join("%s -> %s" % (i.get("id"), i.get("status")) for i in items)
        return order


flowFile = session.get()
if flowFile != None:
    try:
        callback = TransformCallback(flowFile)
        flowFile = session.write(flowFile, callback)
        flowFile = session.putAttribute(flowFile, "log.items", callback.summary)
        session.transfer(flowFile, REL_SUCCESS)
    except:
        session.putAttribute(flowFile, "log.script.error", traceback.format_exc())
        session.transfer(flowFile, REL_FAILURE)
    session.commit()
