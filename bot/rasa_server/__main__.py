"""`python -m bot.rasa_server run ...`: see run.py."""

from bot.rasa_server.run import main

main()
