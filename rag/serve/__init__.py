"""Serve: the front ends over :class:`rag.pipeline.QAPipeline`.

* :mod:`rag.serve.chat` is the Gradio chat app (``ragqa ui``, ``python ui.py``), with its
  page script and style in ``rag/serve/static/``;
* :mod:`rag.serve.render` renders answers, sources and the article reader as escaped HTML;
* :mod:`rag.serve.backend_pool` keeps one backend per name for the chat;
* :mod:`rag.serve.api` is the OpenAI-compatible HTTP API (``ragqa serve``);
* :mod:`rag.serve.feedback` stores and exports readers' ratings.
"""
