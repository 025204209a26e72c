"""Custom NLU for the account assistant (Rasa 3.6 graph components and the plain parsing they wrap).

Plain functions, importable without Rasa:
- `bot.nlu.card_redaction.redact(text) -> (text, count)`: card numbers -> `CARDNUMBER`.
- `bot.nlu.numbers.find_quantities(text) -> [Span]`, `parse_number(words) -> int | None`.
- `bot.nlu.periods.find_periods(text, today) -> [Span]`.
- `bot.nlu.extraction.extract_entities(text, today) -> [dict]`: quantity, invoice_number, email,
  period, as Rasa entity dicts (start/end/value/entity).

Rasa components (import Rasa, so they live in their own modules):
- `bot.nlu.card_redaction_component.CardNumberRedactor` and `CardNumberIntent`
- `bot.nlu.entities.AccountEntityExtractor`
"""
