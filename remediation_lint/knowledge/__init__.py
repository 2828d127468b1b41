"""Tables as data: which calls deserialise, block, lock, build clients... One module per topic.

Rules import these tables instead of hard-coding names, and rule options extend them from config.
"""
