"""Raw bytes captured on 2026-11-25 from real brokers on this machine, byte for byte.

RabbitMQ 3.10.8 (rabbitmq_stomp) and ActiveMQ 5.17.2 (stomp+nio), both on loopback, driven by a plain socket
client that sent: CONNECT (1.2, guest/guest, heart-beat:0,0); SUBSCRIBE to a fresh queue; SEND with receipt:r-1,
content-type:application/json, x-odd:a\\cb\\\\c\\nd and content-length; SEND with a 5-byte body holding NULs;
the unknown command FOO; then new connections with CONNECT accept-version:1.0,1.1 heart-beat:0,500, and with a
wrong passcode. Each value is everything the server sent back for that step, until the expected frames arrived.
"""

CAPTURED = {
    ("rabbitmq", "connected"): b'CONNECTED\nserver:RabbitMQ/3.10.8\nsession:session-2Qv03RVLOf-VZ5XxufdoZg\nheart-beat:0,0\nversion:1.2\n\n\x00\n',
    ("rabbitmq", "receipt_and_message"): b'MESSAGE\nsubscription:sub-0\ndestination:/queue/codec-capture-8f4f0baf\nmessage-id:T_sub-0@@session-2Qv03RVLOf-VZ5XxufdoZg@@1\nredelivered:false\nreceipt:r-1\nx-odd:a\\cb\\\\c\\nd\ncontent-type:application/json\ncontent-length:36\n\n{"roomId":"42","content":"hi: a\\\\b"}\x00\nRECEIPT\nreceipt-id:r-1\n\n\x00\n',
    ("rabbitmq", "message_nul_body"): b'MESSAGE\nsubscription:sub-0\ndestination:/queue/codec-capture-8f4f0baf\nmessage-id:T_sub-0@@session-2Qv03RVLOf-VZ5XxufdoZg@@2\nredelivered:false\ncontent-length:5\n\na\x00b\x00c\x00\n',
    ("rabbitmq", "error_bad_command"): b'ERROR\nmessage:Bad command\ncontent-type:text/plain\nversion:1.0,1.1,1.2\ncontent-length:34\n\nCould not interpret command "FOO"\n\x00\n',
    ("rabbitmq", "connected_v11_heartbeat"): b'CONNECTED\nserver:RabbitMQ/3.10.8\nsession:session-5BGWADQpyVzhe5ytpx4eJw\nheart-beat:1000,0\nversion:1.1\n\n\x00\n',
    ("rabbitmq", "error_bad_login"): b"ERROR\nmessage:Bad CONNECT\ncontent-type:text/plain\nversion:1.0,1.1,1.2\ncontent-length:32\n\nAccess refused for user 'guest'\n\x00\n",
    ("activemq", "connected"): b'CONNECTED\nserver:ActiveMQ/5.17.2\nheart-beat:0,0\nsession:ID:vm-43191-1795604397105-3:5\nversion:1.2\n\n\x00\n',
    ("activemq", "receipt_and_message"): b'RECEIPT\nreceipt-id:r-1\n\n\x00\nMESSAGE\ncontent-length:36\nexpires:0\ndestination:/queue/codec-capture-166dfa5d\nx-odd:a\\cb\\\\c\\nd\nsubscription:sub-0\npriority:4\nmessage-id:ID\\cvm-43191-1795604397105-3\\c5\\c-1\\c1\\c1\ncontent-type:application/json\ntimestamp:1795604405204\n\n{"roomId":"42","content":"hi: a\\\\b"}\x00\n',
    ("activemq", "message_nul_body"): b'MESSAGE\ncontent-length:5\nexpires:0\ndestination:/queue/codec-capture-166dfa5d\nsubscription:sub-0\npriority:4\nmessage-id:ID\\cvm-43191-1795604397105-3\\c5\\c-1\\c1\\c2\ntimestamp:1795604405249\n\na\x00b\x00c\x00\n',
    ("activemq", "error_bad_command"): b'ERROR\ncontent-type:text/plain\nmessage:Unknown STOMP action\\c FOO\n\norg.apache.activemq.transport.stomp.ProtocolException: Unknown STOMP action: FOO\n\tat org.apache.activemq.transport.stomp.ProtocolConverter.onStompCommand(ProtocolConverter.java:258)\n\tat org.apache.activemq.transport.stomp.StompTransportFilter.onCommand(StompTransportFilter.java:85)\n\tat org.apache.activemq.transport.TransportSupport.doConsume(TransportSupport.java:83)\n\tat org.apache.activemq.transport.stomp.StompCodec.processCommand(StompCodec.java:133)\n\tat org.apache.activemq.transport.stomp.StompCodec.parse(StompCodec.java:100)\n\tat org.apache.activemq.transport.stomp.StompNIOTransport.processBuffer(StompNIOTransport.java:136)\n\tat org.apache.activemq.transport.stomp.StompNIOTransport.serviceRead(StompNIOTransport.java:121)\n\tat org.apache.activemq.transport.stomp.StompNIOTransport$1.onSelect(StompNIOTransport.java:73)\n\tat org.apache.activemq.transport.nio.SelectorSelection.onSelect(SelectorSelection.java:98)\n\tat org.apache.activemq.transport.nio.SelectorWorker$1.run(SelectorWorker.java:123)\n\tat java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)\n\tat java.base/java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:635)\n\tat java.base/java.lang.Thread.run(Thread.java:840)\n\x00\n',
    ("activemq", "connected_v11_heartbeat"): b'CONNECTED\nserver:ActiveMQ/5.17.2\nheart-beat:500,0\nsession:ID:vm-43191-1795604397105-3:6\nversion:1.1\n\n\x00\n',
    ("activemq", "error_bad_login"): b'CONNECTED\nserver:ActiveMQ/5.17.2\nheart-beat:0,0\nsession:ID:vm-43191-1795604397105-3:7\nversion:1.2\n\n\x00\n',
}
