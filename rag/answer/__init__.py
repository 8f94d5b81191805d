"""Answer: from retrieved passages to a cited answer or a refusal.

* :mod:`rag.answer.followup` turns a follow-up into a standalone question;
* :mod:`rag.answer.crosslingual` maps English questions onto the articles' Chinese terms;
* :mod:`rag.answer.reader` is the trained span reader; :mod:`rag.answer.answerability`
  reranks sentences with it and decides whether to answer (with :mod:`rag.answer.lexical`);
* :mod:`rag.answer.injection` keeps instructions planted in articles out of answers;
* :mod:`rag.answer.backends` are the answer backends (extractive, llama.cpp, OpenAI-compatible),
  a plugin group;
* :mod:`rag.answer.english_rendering` writes English answers; :mod:`rag.answer.local_models`
  finds the offline GGUF model.
"""
