// Load scenarios (ring, room, connect) over ParleyClient.
