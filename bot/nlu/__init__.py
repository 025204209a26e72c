"""Custom NLU for the account assistant (Rasa 3.6 graph components and the plain parsing they wrap).

Plain functions, importable without Rasa (the app environment's gateway and billing use some):
- `bot.nlu.cards.redact(text) -> (text, count)`: card numbers -> `CARDNUMBER` (and `redact_value`,
  `redact_logs` for what is stored or logged).
- `bot.nlu.numbers.find_quantities(text) -> [Span]`, `parse_number(words) -> int | None`.
- `bot.nlu.periods.find_periods(text, today) -> [Span]`.
- `bot.nlu.addresses.address_in(text)`: a whole postal address in one message, or None.
- `bot.nlu.extraction.extract_entities(text, today) -> [dict]`: quantity, invoice_number, email,
  period, as Rasa entity dicts (start/end/value/entity).

Rasa components (they import Rasa, so only the Rasa environment loads them):
- `bot.nlu.card_redaction.CardNumberRedactor` and `CardNumberIntent`
- `bot.nlu.entities.AccountEntityExtractor`
- `bot.nlu.sentence_features`, `bot.nlu.linear_intents`, `bot.nlu.linear_responses`, `bot.nlu.guard`:
  the sentence encoder's features, the intent classifier, the FAQ selector (both on
  `bot.nlu.linear_model`), the bar of changes
"""
