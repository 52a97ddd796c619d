"""EC2-style compute for LLM inference: models as images (models.py, gguf.py), instances
(instances.py, jobs.py) sized by instance types (resources.py) and admitted by the resource
ledger (ledger.py), engines behind one interface (engines/), per-instance scheduling
(scheduler.py), and the request routing shared by Bedrock Runtime and the OpenAI API
(inference.py, openai_routes.py). ``service.ComputeService`` ties them together as
``runtime.components["compute"]``.
"""
