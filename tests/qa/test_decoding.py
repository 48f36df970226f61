import torch

from qa.decoding import top_spans

NEG = -10.0


def logits(length, peaks):
    row = torch.full((length,), NEG)
    for position, value in peaks.items():
        row[position] = value
    return row


def test_best_span_respects_context_order_and_length():
    start = torch.stack([logits(8, {2: 5.0, 6: 6.0})])
    end = torch.stack([logits(8, {3: 5.0, 4: 1.0})])
    context = torch.tensor([[False, False, True, True, True, True, True, False]])
    spans, null = top_spans(start, end, context, max_answer_tokens=30, per_feature=3)
    best = spans[0][0]
    # start 6 has the highest logit but every end after it is weak; the best valid pair is (2, 3)
    assert (best.start_token, best.end_token) == (2, 3)
    assert all(s.start_token <= s.end_token for s in spans[0])
    assert null[0] == 2 * NEG


def test_max_answer_tokens_and_context_mask_are_enforced():
    start = torch.stack([logits(6, {1: 9.0, 2: 1.0})])
    end = torch.stack([logits(6, {5: 9.0, 3: 1.0})])
    context = torch.tensor([[False, True, True, True, True, False]])  # token 5 is not context
    spans, _ = top_spans(start, end, context, max_answer_tokens=2, per_feature=5)
    for s in spans[0]:
        assert s.end_token - s.start_token < 2
        assert context[0, s.start_token] and context[0, s.end_token]


def test_probability_drops_when_the_window_prefers_no_answer():
    context = torch.tensor([[False, True, True, True]])
    confident = top_spans(torch.tensor([[0.0, 8.0, 0.0, 0.0]]), torch.tensor([[0.0, 0.0, 8.0, 0.0]]), context)[0]
    abstaining = top_spans(torch.tensor([[8.0, 2.0, 0.0, 0.0]]), torch.tensor([[8.0, 0.0, 2.0, 0.0]]), context)[0]
    assert confident[0][0].probability > 0.9
    assert abstaining[0][0].probability < 0.01
    assert 0.0 <= abstaining[0][0].probability <= 1.0
