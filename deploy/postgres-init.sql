-- The three databases of the stack, created on the first start of the postgres container.
CREATE DATABASE aa_billing;
CREATE DATABASE aa_rasa;
CREATE DATABASE aa_gateway;
