"""Row bookkeeping: which story, paragraph and sentence each row of the vector and BM25 indexes stands for.

Paragraph rows run story by story in reading order, and sentence rows paragraph by paragraph, exactly as
`build_index` (and `Library.from_stories`) wrote them, so a row number found by FAISS or BM25 maps back to text.
"""

from __future__ import annotations

import numpy as np

from .arrays import spans
from .models import Paragraph, Story


class RowLayout:
    """Paragraph row -> (story, paragraph index); sentence row -> (paragraph row, sentence index)."""

    def __init__(self, stories: list[Story]) -> None:
        self.stories = stories
        self.para_story: list[int] = []
        self.para_index: list[int] = []
        self.para_sentences: list[range] = []  # the sentence rows of each paragraph row
        self.story_rows: list[np.ndarray] = []  # the paragraph rows of each story
        sent_para: list[int] = []
        sent_index: list[int] = []
        for si, story in enumerate(stories):
            first = len(self.para_story)
            for pi, paragraph in enumerate(story.paragraphs):
                row = len(self.para_story)
                self.para_story.append(si)
                self.para_index.append(pi)
                self.para_sentences.append(range(len(sent_para), len(sent_para) + len(paragraph.sentences)))
                sent_para.extend([row] * len(paragraph.sentences))
                sent_index.extend(range(len(paragraph.sentences)))
            self.story_rows.append(np.arange(first, len(self.para_story)))
        self.sent_para = np.asarray(sent_para, dtype=np.int64)
        self.sent_index = np.asarray(sent_index, dtype=np.int64)
        # The same spans as arrays, so a question's candidate sentences are gathered without a loop per paragraph.
        self.para_first = np.array([r.start for r in self.para_sentences], dtype=np.int64)
        self.para_count = np.array([len(r) for r in self.para_sentences], dtype=np.int64)

    @property
    def sentence_count(self) -> int:
        return len(self.sent_para)

    def paragraph(self, paragraph_row: int) -> Paragraph:
        return self.stories[self.para_story[paragraph_row]].paragraphs[self.para_index[paragraph_row]]

    def story_of(self, paragraph_row: int) -> Story:
        return self.stories[self.para_story[paragraph_row]]

    def sentence_text(self, sentence_row: int) -> str:
        paragraph_row = int(self.sent_para[sentence_row])
        return self.paragraph(paragraph_row).sentence_text(int(self.sent_index[sentence_row]))

    def sentence_rows(self, paragraph_rows: np.ndarray) -> np.ndarray:
        """The sentence rows of `paragraph_rows`, paragraph by paragraph."""
        first = self.para_first[np.asarray(paragraph_rows, dtype=np.int64)]
        return spans(first, first + self.para_count[np.asarray(paragraph_rows, dtype=np.int64)])

    def sentence_owners(self, paragraph_rows: np.ndarray) -> np.ndarray:
        """For each of `sentence_rows(paragraph_rows)`: the position in `paragraph_rows` of its paragraph."""
        counts = self.para_count[np.asarray(paragraph_rows, dtype=np.int64)]
        return np.arange(len(counts), dtype=np.int64).repeat(counts)
